#!/usr/bin/env python3
"""Per-style AUROC (default vs role answers, uncapped) with a 95 % bootstrap interval, from the
JSON that `axis-lab styles --json` writes; also the mean score and the judge's in-role count.

Usage: styles_auroc.py STYLES.json [MORE.json ...]   (standard library only; 2,000 resamples
of both groups, seed 0).
       styles_auroc.py --paired FIRST.json SECOND.json   (the difference per style, paired:
of two axes scoring the same answers).
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
def main(names):
  for name in names:
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


def paired(first, second, reps=2000, seed=0):
    """AUROC(second) − AUROC(first) per style with a paired bootstrap: both files must hold the
    same uncapped answers (same prompts, same seeds: `styles` run on two axes of one plan), so
    each resample draws the same answers for both axes."""
    a, b = json.load(open(first)), json.load(open(second))
    ka = [(x['style'], x['role'], json.dumps(x['messages']), x['uncapped']['text']) for x in a['answers']]
    kb = [(x['style'], x['role'], json.dumps(x['messages']), x['uncapped']['text']) for x in b['answers']]
    if len(ka) != len(kb) or any(x[:3] != y[:3] for x, y in zip(ka, kb)):
        sys.exit("the files hold different prompts: not paired")
    # A sampled answer can come out differently in another run (a near tie in the logits):
    # only answers with the same text in both files are compared.
    keep = [i for i in range(len(ka)) if ka[i] == kb[i]]
    a['answers'] = [a['answers'][i] for i in keep]
    b['answers'] = [b['answers'][i] for i in keep]
    print(f"paired: {second} − {first} (monitor layers {a['monitor_layer']}, {b['monitor_layer']}); "
          f"{len(keep)} of {len(ka)} answers the same in both")
    d_idx = [i for i, x in enumerate(a['answers']) if x['style'] == 'default']
    sa = [x['uncapped']['score'] for x in a['answers']]
    sb = [x['uncapped']['score'] for x in b['answers']]
    rng = random.Random(seed)
    for st in ['instructed', 'descriptive', 'embody', 'user_turn']:
        r_idx = [i for i, x in enumerate(a['answers']) if x['style'] == st]
        if not r_idx or not d_idx:
            print(f"  {st:12} no answers to compare")
            continue
        def diff(di, ri):
            return auroc([sb[i] for i in di], [sb[i] for i in ri]) - auroc([sa[i] for i in di], [sa[i] for i in ri])
        vals = sorted(diff([rng.choice(d_idx) for _ in d_idx], [rng.choice(r_idx) for _ in r_idx]) for _ in range(reps))
        print(f"  {st:12} AUROC {auroc([sa[i] for i in d_idx], [sa[i] for i in r_idx]):.3f} -> "
              f"{auroc([sb[i] for i in d_idx], [sb[i] for i in r_idx]):.3f}  difference {diff(d_idx, r_idx):+.3f} "
              f"[{vals[int(0.025 * reps)]:+.3f} to {vals[int(0.975 * reps) - 1]:+.3f}]")


if __name__ == '__main__':
    if sys.argv[1:2] == ['--paired']:
        paired(*sys.argv[2:4])
    else:
        main(sys.argv[1:])
