"""One command: odoo-stack's oca.sync / oca.flatten against git-aggregator, in one run.

    python benchmarks/run.py [--repos 14] [--commits 2000] [--addons 40] [--delay 0.1]

Repos are generated (deterministic, OCA-shaped), served by a real `git daemon` on 127.0.0.1,
and reached twice: directly (loopback) and through a delay proxy (WAN: `--delay` seconds each
way). Each tool runs as its CLI, as a user runs it. Results: a table and benchmarks/results/.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path[:0] = [str(HERE), str(ROOT / "tests")]

from delayproxy import DelayProxy  # noqa: E402
from gitgen import make_repo  # noqa: E402
from services import start_git_daemon, stop_process  # noqa: E402

BIN = Path(sys.executable).parent


def timed(cmd: list[str], cwd: Path, env: dict | None = None) -> float:
    t = time.perf_counter()
    cp = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    dt = time.perf_counter() - t
    if cp.returncode:
        raise SystemExit(f"failed: {' '.join(cmd)}\n{cp.stdout}\n{cp.stderr}")
    return dt


def project(dirpath: Path, names: list[str], url: str, addons: str = '["*"]') -> Path:
    dirpath.mkdir(parents=True, exist_ok=True)
    body = '[odoo]\nversion = "19.0"\n[addons]\npaths = []\n'
    for n in names:
        body += f'\n[repos.{n}]\nurl = "{url}/{n}.git"\naddons = {addons}\n'
    (dirpath / "stack.toml").write_text(body)
    return dirpath


def aggregator_config(dirpath: Path, names: list[str], url: str) -> Path:
    # The way doodba configures it: depth 1 by default; git-aggregator adds blob:none clones.
    lines = []
    for n in names:
        lines += [
            f"{dirpath / 'external-src' / n}:",
            "  defaults:",
            "    depth: 1",
            "  remotes:",
            f"    origin: {url}/{n}.git",
            "  merges:",
            "    - origin 19.0",
            "  target: origin 19.0",
        ]
    cfg = dirpath / "repos.yaml"
    cfg.write_text("\n".join(lines) + "\n")
    return cfg


def inv(*args: str) -> list[str]:
    return [sys.executable, "-m", "invoke", "-r", str(ROOT), *args]


def bench_sync(
    work: Path, names: list[str], url: str, jobs: int, reruns: int, default_jobs_too: bool = False
) -> dict:
    ours = project(work / "ours", names, url)
    agg = work / "agg"
    agg.mkdir(parents=True, exist_ok=True)
    cfg = aggregator_config(agg, names, url)
    env = dict(os.environ, STACK_ROOT=str(ours))
    pin = timed(inv("oca.pin", "--jobs", str(jobs)), ours, env)
    ga = [str(BIN / "gitaggregate"), "-c", str(cfg), "-j", str(jobs), "aggregate"]
    res = {"pin_s": pin}
    # Cold, alternating which tool goes first to spread the noise.
    cold_ours, cold_ga = [], []
    for rnd in range(2):
        for who in (0, 1) if rnd % 2 == 0 else (1, 0):
            shutil.rmtree(ours / "external-src", ignore_errors=True)
            shutil.rmtree(agg / "external-src", ignore_errors=True)
            if who == 0:
                cold_ours.append(timed(inv("oca.sync", "--jobs", str(jobs)), ours, env))
            else:
                cold_ga.append(timed(ga, agg))
    # Both trees are now populated by their last cold run; re-run with nothing changed.
    if not (ours / "external-src").exists():
        timed(inv("oca.sync", "--jobs", str(jobs)), ours, env)
    if not (agg / "external-src").exists():
        timed(ga, agg)
    warm_ours, warm_ga = [], []
    for _ in range(reruns):
        warm_ours.append(timed(inv("oca.sync", "--jobs", str(jobs)), ours, env))
        warm_ga.append(timed(ga, agg))
    if default_jobs_too:
        # git-aggregator's own default is one repo at a time.
        res["noop_ga_j1_s"] = timed([*ga[:3], "-j", "1", "aggregate"], agg)
        res["noop_ratio_ga_j1_over_ours"] = res["noop_ga_j1_s"] / statistics.median(warm_ours)
    res.update(
        cold_ours_s=statistics.median(cold_ours),
        cold_ga_s=statistics.median(cold_ga),
        noop_ours_s=statistics.median(warm_ours),
        noop_ga_s=statistics.median(warm_ga),
    )
    res["cold_ratio_ga_over_ours"] = res["cold_ga_s"] / res["cold_ours_s"]
    res["noop_ratio_ga_over_ours"] = res["noop_ga_s"] / res["noop_ours_s"]
    return res


def bench_flatten(work: Path, n_repos: int, per_repo: int, runs: int) -> dict:
    remotes = work / "flat-remotes"
    names = [f"flat{i:02d}" for i in range(n_repos)]
    for n in names:
        make_repo(remotes / f"{n}.git", n, per_repo, 1)
    proj = project(work / "flat", names, remotes.as_uri())
    env = dict(os.environ, STACK_ROOT=str(proj))
    timed(inv("oca.pin"), proj, env)
    timed(inv("oca.sync"), proj, env)
    symlink = [timed(inv("oca.flatten", "--mode", "symlink"), proj, env) for _ in range(runs)]
    copy = [timed(inv("oca.flatten", "--mode", "copy"), proj, env) for _ in range(2)]
    startup = [timed(inv("--list"), proj, env) for _ in range(runs)]
    count = len([p for p in (proj / "build" / "addons").iterdir() if not p.name.startswith(".")])
    return {
        "addons": count,
        "flatten_symlink_s": statistics.median(symlink),
        "flatten_copy_s": statistics.median(copy),
        "invoke_startup_s": statistics.median(startup),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repos", type=int, default=14)
    ap.add_argument("--commits", type=int, default=2000)
    ap.add_argument("--addons", type=int, default=40)
    ap.add_argument("--delay", type=float, default=0.1, help="seconds each way (WAN mode)")
    ap.add_argument("--reruns", type=int, default=3)
    ap.add_argument(
        "--jobs",
        type=int,
        default=8,
        help="parallel jobs, the same for both tools (oca.sync's default here: 8)",
    )
    ap.add_argument("--keep", action="store_true", help="keep the work folder")
    args = ap.parse_args()
    jobs = args.jobs
    work = Path(tempfile.mkdtemp(prefix="odoo-stack-bench-"))
    results: dict = {"params": vars(args) | {"jobs": jobs}}
    names = [f"repo{i:02d}" for i in range(args.repos)]
    try:
        t = time.perf_counter()
        for n in names:
            make_repo(work / "remotes" / f"{n}.git", n, args.addons, args.commits)
        print(f"generated {args.repos} repos in {time.perf_counter() - t:.1f}s", file=sys.stderr)
        daemon, port = start_git_daemon(work / "remotes")
        try:
            results["loopback"] = bench_sync(
                work / "lo", names, f"git://127.0.0.1:{port}", jobs, args.reruns
            )
            with DelayProxy(port, args.delay) as proxy:
                results["wan"] = bench_sync(
                    work / "wan",
                    names,
                    f"git://127.0.0.1:{proxy.port}",
                    jobs,
                    args.reruns,
                    default_jobs_too=True,
                )
        finally:
            stop_process(daemon)
        results["flatten"] = bench_flatten(work, 10, 100, 5)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    report(results)
    out = HERE / "results"
    out.mkdir(exist_ok=True)
    (out / "latest.json").write_text(json.dumps(results, indent=2) + "\n")


def report(r: dict) -> None:
    p = r["params"]
    print(
        f"\n{p['repos']} repos x {p['commits']} commits x {p['addons']} addons, "
        f"jobs={p['jobs']}, WAN delay {p['delay'] * 1000:.0f} ms each way"
    )
    print(f"{'':28}{'odoo-stack':>12}{'git-aggregator':>16}{'ratio ga/ours':>15}")
    for mode in ("loopback", "wan"):
        m = r[mode]
        print(
            f"{mode + ' cold sync':28}{m['cold_ours_s']:>11.2f}s{m['cold_ga_s']:>15.2f}s"
            f"{m['cold_ratio_ga_over_ours']:>14.1f}x"
        )
        print(
            f"{mode + ' re-run (no change)':28}{m['noop_ours_s']:>11.2f}s"
            f"{m['noop_ga_s']:>15.2f}s{m['noop_ratio_ga_over_ours']:>14.1f}x"
        )
        if "noop_ga_j1_s" in m:
            print(
                f"{mode + ' re-run, ga -j 1':28}{m['noop_ours_s']:>11.2f}s"
                f"{m['noop_ga_j1_s']:>15.2f}s{m['noop_ratio_ga_j1_over_ours']:>14.1f}x"
            )
        print(f"{mode + ' oca.pin (ls-remote)':28}{m['pin_s']:>11.2f}s")
    f = r["flatten"]
    print(
        f"oca.flatten {f['addons']} addons: symlink {f['flatten_symlink_s']:.2f}s, "
        f"copy {f['flatten_copy_s']:.2f}s (invoke start-up alone {f['invoke_startup_s']:.2f}s)"
    )


if __name__ == "__main__":
    main()
