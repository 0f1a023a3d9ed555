#!/usr/bin/env python3
"""Sanity checks for the axis-lab data files and the web presets.

Run from anywhere:  python3 crates/axis-lab/data/check_data.py
Exits 1 and lists every problem if a check fails; prints the counts otherwise.
Only the standard library is used.
"""
import json
import re
import sys
from collections import Counter
from pathlib import Path

DATA = Path(__file__).resolve().parent
REPO = DATA.parents[2]
PRESETS = REPO / "public" / "presets" / "presets.json"

ROLE_CATEGORIES = {"fantasy", "mythic", "profession", "historical", "emotional", "relational",
                   "animal", "nature", "cosmic", "abstract", "object", "ai_adjacent", "child",
                   "villain", "character"}
QUESTION_CATEGORIES = {"identity", "values", "introspection", "memory", "plans", "relationships",
                       "preferences", "advice", "factual", "opinion", "hypothetical"}
DEFAULT_PROMPTS = ["", "You are an AI assistant.", "You are a large language model.",
                   "You are SmolLM2.", "Respond as yourself."]
ID_RE = re.compile(r"^[a-z0-9]+(_[a-z0-9]+)*$")

errors = []
warnings = []


def err(msg):
    errors.append(msg)


def load_jsonl(name):
    rows = []
    path = DATA / name
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            err(f"{name}:{n}: blank line")
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as e:
            err(f"{name}:{n}: invalid JSON ({e})")
            continue
        if not isinstance(obj, dict):
            err(f"{name}:{n}: not a JSON object")
            continue
        rows.append(obj)
    return rows


def need_keys(name, rows, keys):
    for r in rows:
        missing = [k for k in keys if k not in r]
        if missing:
            err(f"{name}: {r.get('id', '?')}: missing {missing}")
        extra = [k for k in r if k not in keys]
        if extra:
            err(f"{name}: {r.get('id', '?')}: unexpected keys {extra}")


def unique(name, what, values):
    for v, c in Counter(values).items():
        if c > 1:
            err(f"{name}: duplicate {what}: {v!r} ({c}x)")


def norm(s):
    return re.sub(r"\s+", " ", s.strip().lower())


# ---------------------------------------------------------------- roles
roles = load_jsonl("roles.jsonl")
need_keys("roles.jsonl", roles, ["id", "name", "category", "system_prompts"])
unique("roles.jsonl", "id", [r["id"] for r in roles])
unique("roles.jsonl", "name", [norm(r["name"]) for r in roles])
all_prompts = []
for r in roles:
    rid = r["id"]
    if not ID_RE.match(rid):
        err(f"roles.jsonl: bad id {rid!r} (use lowercase snake_case)")
    if r["category"] not in ROLE_CATEGORIES:
        err(f"roles.jsonl: {rid}: unknown category {r['category']!r}")
    ps = r["system_prompts"]
    if len(ps) != 5:
        err(f"roles.jsonl: {rid}: {len(ps)} system prompts, want 5")
    if len(set(map(norm, ps))) != len(ps):
        err(f"roles.jsonl: {rid}: repeated system prompt")
    for p in ps:
        all_prompts.append(norm(p))
        if not p.startswith("You "):
            err(f"roles.jsonl: {rid}: prompt is not second person: {p[:50]!r}")
        if not re.search(r"\bAI\b|language model", p):
            err(f"roles.jsonl: {rid}: prompt lacks the never-say-you-are-an-AI instruction: {p[:50]!r}")
        if not re.search(r"character|role|voice|as yourself|this machine", p):
            err(f"roles.jsonl: {rid}: prompt lacks a stay-in-character instruction: {p[:50]!r}")
        if len(p.split()) > 45:
            warnings.append(f"roles.jsonl: {rid}: long prompt ({len(p.split())} words)")
unique("roles.jsonl", "system prompt", all_prompts)
if len(roles) < 130:
    err(f"roles.jsonl: only {len(roles)} roles, want >= 130")

# ---------------------------------------------------------------- questions
questions = load_jsonl("questions.jsonl")
need_keys("questions.jsonl", questions, ["id", "category", "text"])
unique("questions.jsonl", "id", [q["id"] for q in questions])
unique("questions.jsonl", "text", [norm(q["text"]) for q in questions])
for q in questions:
    if not re.match(r"^q\d{3}$", q["id"]):
        err(f"questions.jsonl: bad id {q['id']!r}")
    if q["category"] not in QUESTION_CATEGORIES:
        err(f"questions.jsonl: {q['id']}: unknown category {q['category']!r}")
    if not q["text"].endswith(("?", ".")):
        err(f"questions.jsonl: {q['id']}: text should end with ? or .")
if len(questions) < 100:
    err(f"questions.jsonl: only {len(questions)} questions, want >= 100")

# ---------------------------------------------------------------- default prompts
dp = json.loads((DATA / "default_prompts.json").read_text(encoding="utf-8"))
if set(dp) != {"description", "prompts"}:
    err(f"default_prompts.json: keys {sorted(dp)}, want description + prompts")
if dp.get("prompts") != DEFAULT_PROMPTS:
    err(f"default_prompts.json: prompts {dp.get('prompts')!r} != {DEFAULT_PROMPTS!r}")

# ---------------------------------------------------------------- capability
cap = load_jsonl("capability.jsonl")
need_keys("capability.jsonl", cap, ["id", "question", "accept"])
unique("capability.jsonl", "id", [c["id"] for c in cap])
unique("capability.jsonl", "question", [norm(c["question"]) for c in cap])


def capability_correct(answer, accept):
    """The sweep's rule (`capability_correct` in the crate's sweep module): an accept string counts where the
    character before it is not alphanumeric and, for an all-digit string, the one after is no digit."""
    text = answer.lower()
    for a in accept:
        numeric = a.isascii() and a.isdigit()
        start = text.find(a)
        while start >= 0:
            before = text[start - 1] if start > 0 else ""
            after = text[start + len(a):start + len(a) + 1]
            if not (before.isalnum() or (numeric and after.isascii() and after.isdigit())):
                return True
            start = text.find(a, start + 1)
    return False


# too short or too common to count as an answer: a wrong reply would contain them by accident
CAP_STOPWORDS = {"a", "an", "i", "it", "is", "no", "not", "yes", "the", "of", "to", "in", "on", "and"}
numeric = 0
for n, c in enumerate(cap, 1):
    cid = c.get("id", "?")
    if cid != f"c{n:03d}":
        err(f"capability.jsonl: line {n}: id {cid!r}, want 'c{n:03d}' (ids run c001, c002, ... with no gaps)")
    q = c.get("question", "")
    if not isinstance(q, str) or not q.strip() or not q.endswith("?"):
        err(f"capability.jsonl: {cid}: question must be a non-empty string ending with '?'")
        q = q if isinstance(q, str) else ""
    acc = c.get("accept")
    if not isinstance(acc, list) or not acc or not all(isinstance(a, str) and a for a in acc):
        err(f"capability.jsonl: {cid}: accept must be a non-empty list of non-empty strings")
        continue
    unique(f"capability.jsonl: {cid}", "accept string", acc)
    for a in acc:
        if a != a.lower():
            err(f"capability.jsonl: {cid}: accept {a!r} is not lowercase")
        if a != a.strip():
            err(f"capability.jsonl: {cid}: accept {a!r} has outer whitespace")
        if a.isdigit():
            numeric += 1
        elif len(a) < 3 or a in CAP_STOPWORDS:
            err(f"capability.jsonl: {cid}: accept {a!r} is too short or common to be a reliable answer")
        if capability_correct(q, [a]):
            err(f"capability.jsonl: {cid}: accept {a!r} occurs in the question (echoing it would count as correct)")
if len(cap) < 230:
    err(f"capability.jsonl: only {len(cap)} items, want >= 230")
# the matching rule, tried on a few answers (documents the rule; must agree with the sweep module's tests)
for answer, accept, want in [
    ("The answer is 4.", ["4", "four"], True),
    ("It is 14", ["4"], False),
    ("about 40", ["4"], False),
    ("4.5", ["4"], True),
    ("Cows say moo", ["cow"], True),
    ("FOUR", ["four"], True),
    ("The capital is Paris.", ["paris"], True),
    ("someone", ["one"], False),
]:
    if capability_correct(answer, accept) != want:
        err(f"capability.jsonl: rule self-test {answer!r} with {accept}: want {want}")

# ---------------------------------------------------------------- drift conversations
drift = load_jsonl("drift_conversations.jsonl")
need_keys("drift_conversations.jsonl", drift, ["id", "title", "category", "user_turns"])
unique("drift_conversations.jsonl", "id", [d["id"] for d in drift])
for d in drift:
    if len(d["user_turns"]) < 6:
        err(f"drift_conversations.jsonl: {d['id']}: {len(d['user_turns'])} turns, want >= 6")
    if len(set(map(norm, d["user_turns"]))) != len(d["user_turns"]):
        err(f"drift_conversations.jsonl: {d['id']}: repeated user turn")
for want in ("coding", "writing", "therapy", "philosophy"):
    if want not in {d["category"] for d in drift}:
        err(f"drift_conversations.jsonl: no conversation with category {want!r}")
if len(drift) < 4:
    err(f"drift_conversations.jsonl: only {len(drift)} conversations, want >= 4")

# ---------------------------------------------------------------- identity markers
im = json.loads((DATA / "identity_markers.json").read_text(encoding="utf-8"))
for key in ("notes", "ai_self_reference", "human_claims"):
    if key not in im:
        err(f"identity_markers.json: missing {key!r}")
for key in ("ai_self_reference", "assistant_identity", "human_claims", "assistant_register"):
    lst = im.get(key, [])
    unique("identity_markers.json", f"{key} phrase", lst)
    for ph in lst:
        if ph != ph.lower() or ph != ph.strip() or "\u2019" in ph:
            err(f"identity_markers.json: {key}: {ph!r} must be lowercase, trimmed, straight quotes")
for key in ("ai_self_reference", "human_claims"):
    if len(im.get(key, [])) < 25:
        err(f"identity_markers.json: {key} has {len(im.get(key, []))} phrases, want >= 25")
# a human claim must not contain an AI phrase (the judge would fire both lists on the same words)
for h in im.get("human_claims", []):
    for a in im.get("ai_self_reference", []) + im.get("assistant_identity", []):
        if a in h or h in a:
            err(f"identity_markers.json: human claim {h!r} overlaps AI phrase {a!r}")
# the role prompts themselves must not trip the judge's human list by accident in the AI list
for p in all_prompts:
    for a in im.get("assistant_identity", []):
        if a in p and "never" not in p and "not" not in p:
            warnings.append(f"roles.jsonl: prompt uses judge phrase {a!r} outside a negation: {p[:60]!r}")

# the matching rule from the notes, tried on a few sentences (documents the rule and guards the lists)
def hits(text, phrases):
    t = re.sub(r"\s+", " ", text.lower().replace("\u2019", "'"))
    return [ph for ph in phrases if re.search(r"(?<![a-z])" + re.escape(ph) + r"(?![a-z])", t)]


AI, HUMAN = im.get("ai_self_reference", []), im.get("human_claims", [])
for text, want_ai, want_human in [
    ("As an AI language model, I don\u2019t have feelings.", True, False),
    ("I am SmolLM2, trained by Hugging Face.", True, False),
    ("When I was a child, my mother baked bread every Sunday.", False, True),
    ("I am the ocean. I am not human, and I have no body.", False, False),
    ("I hum my song to the moon and dream of my moment on stage.", False, False),
    ("Arr, I was trained as a sailor by the roughest crew alive!", False, False),
    ("I'm a real person, I promise. I had breakfast with my wife.", False, True),
]:
    got_ai, got_human = bool(hits(text, AI)), bool(hits(text, HUMAN))
    if (got_ai, got_human) != (want_ai, want_human):
        err(f"identity_markers.json: judge self-test {text!r}: ai={hits(text, AI)} human={hits(text, HUMAN)}")

# ---------------------------------------------------------------- presets
pj = json.loads(PRESETS.read_text(encoding="utf-8"))
presets = pj.get("presets", [])
need_keys("presets.json", presets, ["id", "title", "system_prompt", "user_turns", "watch_for"])
unique("presets.json", "id", [p["id"] for p in presets])
for p in presets:
    n = len(p["user_turns"])
    if not 3 <= n <= 6:
        err(f"presets.json: {p['id']}: {n} user turns, want 3-6")
    if not isinstance(p["system_prompt"], str):
        err(f"presets.json: {p['id']}: system_prompt must be a string")
    if len(p["watch_for"].split()) > 70:
        warnings.append(f"presets.json: {p['id']}: watch_for is long")
if len(presets) < 6:
    err(f"presets.json: only {len(presets)} presets, want >= 6")

# ---------------------------------------------------------------- report
print(f"roles.jsonl                {len(roles):4d} roles, {len(all_prompts)} system prompts")
print("   by category: " + ", ".join(f"{k} {v}" for k, v in sorted(Counter(r['category'] for r in roles).items())))
print(f"questions.jsonl            {len(questions):4d} questions")
print("   by category: " + ", ".join(f"{k} {v}" for k, v in sorted(Counter(q['category'] for q in questions).items())))
print(f"default_prompts.json       {len(dp.get('prompts', [])):4d} prompts")
print(f"capability.jsonl           {len(cap):4d} items ({numeric} purely numeric accept strings: match them on digit boundaries)")
print(f"drift_conversations.jsonl  {len(drift):4d} conversations, turns: " + ", ".join(f"{d['id']} {len(d['user_turns'])}" for d in drift))
print(f"identity_markers.json      " + ", ".join(f"{k} {len(v)}" for k, v in im.items() if isinstance(v, list)))
print(f"presets.json               {len(presets):4d} presets")
for w in warnings:
    print("warning:", w)
if errors:
    for e in errors:
        print("ERROR:", e)
    sys.exit(1)
print("all checks passed")
