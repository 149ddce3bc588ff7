"""What each acceptance rule would have kept, from bench_training_loop --score-epochs runs (every epoch scored on
the scored images; the training is the same whatever the rule, only the kept epoch differs).

    python bench/training_rules.py bench_out/inst-k5-guard.json [...]
"""
import json
import statistics
import sys


def kept(epochs, margin=0.0, tol=None):
    """The epoch train() keeps: the first with the highest held-out score above the start's + margin, and (tol not
    None) a guard score >= the start's guard score - tol; 0 = the start model."""
    base, g0 = epochs[0]["held_out"], epochs[0]["guard"]
    best, best_e = base + margin, 0
    for e in epochs[1:]:
        if tol is not None and e["guard"] < g0 - tol:
            continue
        if e["held_out"] > best:
            best, best_e = e["held_out"], e["epoch"]
    return best_e


RULES = {"held-out only (defaults)": {}, "guard tol 0": {"tol": 0.0}, "guard tol 0.005": {"tol": 0.005},
         "guard tol 0.01": {"tol": 0.01}, "held-out margin 0.01": {"margin": 0.01},
         "guard only (held-out >= start)": {"tol": 0.0, "margin": -1e-9}}


def main(paths):
    runs = [r for p in paths for r in json.load(open(p))]
    metric = next(iter(runs[0]["before"]))
    for r in runs:
        eps = r["epochs"]
        print(f'{r["set"]} k={r["k"]} seed={r["seed"]}: before {r["before"][metric]:.3f}; held-out ' +
              " ".join(f'{e["held_out"]:.3f}' for e in eps) + "; guard " +
              " ".join("-" if e["guard"] is None else f'{e["guard"]:.3f}' for e in eps) + "; scored " +
              " ".join(f'{e["scored"][metric]:.3f}' for e in eps))
    for name, rule in RULES.items():
        for k in sorted({r["k"] for r in runs}):
            rs = [r for r in runs if r["k"] == k]
            d = []
            for r in rs:
                e = kept(r["epochs"], **rule)
                d.append(r["epochs"][e]["scored"][metric] - r["before"][metric])
            print(f"{name:34s} k={k}: change {statistics.mean(d):+.4f} per seed " +
                  " ".join(f"{x:+.4f}" for x in d))


if __name__ == "__main__":
    main(sys.argv[1:])
