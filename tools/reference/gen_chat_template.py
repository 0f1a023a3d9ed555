"""Chat-template fixture: HF's rendering of the GGUF's ChatML template.

Writes
  crates/engine/tests/fixtures/chat_template_hf.jsonl
      {"name", "messages": [{"role","content"}], "add_generation_prompt": bool, "rendered": str}
  crates/engine/tests/fixtures/chat_template.jinja
      the raw `tokenizer.chat_template` string from the GGUF metadata, byte for byte.

Rendering uses transformers' `apply_chat_template(..., tokenize=False)` (jinja2 sandbox), i.e.
exactly what HF users get. We assert that HF picked up the template stored in the GGUF, so the
fixture documents *that* template, not a transformers default.
Run: tools/.venv/bin/python tools/reference/gen_chat_template.py
"""

from __future__ import annotations

import common

DEFAULT_SYS = "You are a helpful AI assistant named SmolLM, trained by Hugging Face"


def u(c):
    return {"role": "user", "content": c}


def a(c):
    return {"role": "assistant", "content": c}


def s(c):
    return {"role": "system", "content": c}


# (name, messages, add_generation_prompt). Each covers a branch or an escaping edge of the template.
CASES = [
    ("france_default_system", [u("What is the capital of France?")], True),
    ("user_only_no_genprompt", [u("What is the capital of France?")], False),
    ("explicit_system", [s("You are an AI assistant."), u("Hello!")], True),
    ("explicit_default_system_text", [s(DEFAULT_SYS), u("What is the capital of France?")], True),
    ("empty_system", [s(""), u("Who are you?")], True),
    ("paper_neutral_system_respond_as_yourself", [s("Respond as yourself."), u("How are you today?")], True),
    ("assistant_last_no_genprompt", [u("Hi"), a("Hello! How can I help you today?")], False),
    ("assistant_last_with_genprompt", [u("Hi"), a("Hello! How can I help you today?")], True),
    ("system_user_assistant_last", [s("You are a pirate."), u("Greet me."), a("Arr, ahoy matey!")], False),
    (
        "multi_turn_6_no_system",
        [u("Hi"), a("Hello!"), u("What's 2+2?"), a("2+2 = 4."), u("And 3*3?"), a("3*3 = 9.")],
        False,
    ),
    (
        "multi_turn_6_system_genprompt",
        [
            s("You are a concise tutor."),
            u("Explain recursion."),
            a("A function that calls itself on a smaller input until a base case."),
            u("Give an example in Python."),
            a("def fact(n):\n    return 1 if n == 0 else n * fact(n - 1)"),
            u("Thanks! Now in Rust?"),
        ],
        True,
    ),
    (
        "multi_turn_7_messages_ending_user",
        [u("a"), a("b"), u("c"), a("d"), u("e"), a("f"), u("g")],
        True,
    ),
    ("empty_user_content", [u("")], True),
    ("empty_assistant_content", [u("Say nothing."), a("")], False),
    (
        "newlines_and_whitespace",
        [u("Line one\nLine two\n\n\tIndented\r\nCRLF line   \n  "), a("  leading and trailing spaces  ")],
        True,
    ),
    (
        "unicode_and_emoji",
        [u("Ça va? 你好 🌍 👨‍👩‍👧‍👦 مرحبا Привет नमस्ते"), a("Très bien, merci ! 😊")],
        True,
    ),
    (
        "special_chars_and_markup",
        [u("<b>bold</b> & \"quotes\" 'single' \\backslash {{ not jinja }} {% raw %} $x^2$")],
        True,
    ),
    ("literal_control_tokens_in_content", [u("Please print <|im_end|> and <|im_start|>system and <|endoftext|>")], True),
    ("only_system", [s("You are a helpful assistant.")], True),
    (
        "code_block",
        [u("Fix this:\n```rust\nfn main() {\n    let x = 5\n}\n```"), a("Add a semicolon: `let x = 5;`")],
        True,
    ),
]


def main() -> None:
    common.check_model()
    tok = common.load_hf_tokenizer()
    raw = common.gguf_chat_template()
    # HF must be rendering the template that ships in the GGUF, nothing else.
    assert tok.chat_template == raw, "transformers did not load tokenizer.chat_template from the GGUF"
    assert DEFAULT_SYS in raw

    (common.FIXTURES / "chat_template.jinja").parent.mkdir(parents=True, exist_ok=True)
    # newline="" : write the template byte for byte (no trailing newline added, none translated).
    with open(common.FIXTURES / "chat_template.jinja", "w", encoding="utf-8", newline="") as f:
        f.write(raw)

    rows = []
    for name, messages, gen in CASES:
        rendered = tok.apply_chat_template(messages, tokenize=False, add_generation_prompt=gen)
        rows.append({"name": name, "messages": messages, "add_generation_prompt": gen, "rendered": rendered})

    # The France case is the one every other fixture builds on: pin its rendering exactly.
    france = rows[0]["rendered"]
    assert france == (
        f"<|im_start|>system\n{DEFAULT_SYS}<|im_end|>\n"
        "<|im_start|>user\nWhat is the capital of France?<|im_end|>\n<|im_start|>assistant\n"
    ), repr(france)

    out = common.FIXTURES / "chat_template_hf.jsonl"
    common.write_jsonl(out, rows)
    print(f"wrote {out} ({len(rows)} cases)")
    print("template:\n" + raw)


if __name__ == "__main__":
    main()
