#!/usr/bin/env python3
"""Per-style AUROC (default vs role answers, uncapped) with a 95 % bootstrap interval, from the
JSON that `axis-lab styles --json` writes; also the mean score and the judge's in-role count.

Usage: styles_auroc.py STYLES.json [MORE.json ...]   (standard library only; 2,000 resamples
of both groups, seed 0).
"""
import json, random, sys
def auroc(pos, neg):
    # P(default score > role score), ties half
    n = 0.0
    for p in pos:
        for q in neg:
            n += 1.0 if p > q else 0.5 if p == q else 0.0
    return n / (len(pos) * len(neg))
def boot(pos, neg, reps=2000, seed=0):
    rng = random.Random(seed); vals = []
    for _ in range(reps):
        p = [rng.choice(pos) for _ in pos]; q = [rng.choice(neg) for _ in neg]
        vals.append(auroc(p, q))
    vals.sort(); return vals[int(0.025 * reps)], vals[int(0.975 * reps) - 1]
for name in sys.argv[1:]:
    r = json.load(open(name))
    ans = r['answers']
    default = [a['uncapped']['score'] for a in ans if a['style'] == 'default']
    print(name, 'monitor', r['monitor_layer'], 'default n', len(default), 'mean %.1f' % (sum(default)/len(default)))
    for st in ['instructed', 'descriptive', 'embody', 'user_turn']:
        xs = [a['uncapped']['score'] for a in ans if a['style'] == st]
        row = next(s for s in r['styles'] if s['style'].replace('_','') == st.replace('_',''))
        lo, hi = boot(default, xs)
        ir = row['in_role']
        print(f"  {st:12} n {len(xs):3}  mean score {sum(xs)/len(xs):6.1f}  AUROC {auroc(default, xs):.3f} [{lo:.3f}-{hi:.3f}]  in role {ir['hits']}/{ir['n']}")
