"""The template language, feature by feature, against transformers' Jinja2 environment (the reference)."""

from __future__ import annotations

import pytest

import sftmask
from sftmask import DEMO_DIR

transformers = pytest.importorskip("transformers")

MESSAGES = [
    {"role": "system", "content": "  Be brief.  "},
    {"role": "user", "content": "Hi <b>\"there\"</b> 你好", "name": "ann"},
    {
        "role": "assistant",
        "content": None,
        "reasoning_content": "think",
        "tool_calls": [{"type": "function", "function": {"name": "f", "arguments": {"x": 1.5, "y": [1, None, True]}}}],
    },
    {"role": "tool", "content": "{\"ok\": true}"},
    {"role": "assistant", "content": "<think>\nhmm\n</think>\n\nDone."},
]
TOOLS = [{"type": "function", "function": {"name": "f", "description": "é", "parameters": {"type": "object"}}}]

TEMPLATES = {
    "tojson default": "{{ messages | tojson }}",
    "tojson indent": "{{ tools | tojson(indent=4) }}|{{ messages[2] | tojson(indent=2) }}",
    "tojson sort_keys and separators": "{{ messages[2] | tojson(sort_keys=True, separators=(',', ':')) }}",
    "tojson ensure_ascii": "{{ messages[1] | tojson(ensure_ascii=True) }}",
    "print values like python": "{% for m in messages %}{{ m }}|{{ m.content is none }}|{{ m.get('name') }}\n{% endfor %}",
    "string methods": "{% for m in messages %}{% if m.content is string %}{{ m.content.strip() }}|{{ m.content.split('</think>')[-1].lstrip('\\n') }}|{{ m.content.startswith('Hi') }}|{{ m.content.upper() }}|{{ m.content.replace('e', 'E') }}\n{% endif %}{% endfor %}",
    "filters": "{{ messages[0].content | trim }}|{{ messages | length }}|{{ messages | map(attribute='role') | join(',') }}|{{ messages[1].content | lower }}|{{ 'abc' | upper }}",
    "tests": "{% for m in messages %}{{ m is mapping }}{{ m.content is string }}{{ m.tool_calls is defined }}{{ m.tool_calls is iterable }}{% endfor %}",
    "namespace and loop controls": "{% set ns = namespace(n=0, last=none) %}{% for m in messages %}{% if m.role == 'tool' %}{% continue %}{% endif %}{% set ns.n = ns.n + 1 %}{% if loop.index > 4 %}{% break %}{% endif %}{{ loop.index0 }}:{{ m.role }}{% if not loop.last %},{% endif %}{% endfor %}|{{ ns.n }}",
    "slicing and reversal": "{% for m in messages[::-1] %}{{ m.role }}{% endfor %}|{{ messages[1:3] | length }}|{{ messages[-1].role }}",
    "dict items": "{% for k, v in messages[2].tool_calls[0].function.arguments.items() %}{{ k }}={{ v }};{% endfor %}",
    "whitespace control": "{% for m in messages %}\n    {%- if m.role == 'user' %}\n        {{- m.role }}\n    {% endif %}\n{% endfor %}\n",
    "special tokens and kwargs": "{{ bos_token }}|{{ eos_token }}|{{ enable_thinking }}|{{ add_generation_prompt }}|{{ custom }}",
    "undefined": "{{ nothing }}|{{ messages[0].missing }}|{% if messages[0].missing %}yes{% else %}no{% endif %}|{{ nothing is defined }}",
    "arithmetic and formats": "{{ 7 // 2 }} {{ 7 / 2 }} {{ 2 ** 10 }} {{ 1.0 }} {{ 1e20 }} {{ 0.00001 }} {{ -0.0 }} {{ '%d' | format(3) if false else 'x' }}",
    "reasoning fields": "{% for m in messages %}{{ m.reasoning_content }}|{{ m.thinking }};{% endfor %}",
    "macros": "{% macro show(m) %}<{{ m.role }}>{% endmacro %}{% for m in messages %}{{ show(m) }}{% endfor %}",
    "raise": "{% if messages[0].role == 'system' %}{{ raise_exception('System role not supported') }}{% endif %}",
    "string concatenation with none raises": "{{ messages[2].content + 'x' }}",
}


@pytest.fixture(scope="module")
def reference():
    return transformers.AutoTokenizer.from_pretrained(str(DEMO_DIR))


@pytest.mark.parametrize("name", sorted(TEMPLATES))
# The same variables go to every template, whether it reads them or not: that is what the warning is for.
@pytest.mark.filterwarnings("ignore::sftmask.IgnoredKeywordWarning")
def test_template_features_render_like_transformers(reference, name):
    template = TEMPLATES[name]
    kwargs = {"enable_thinking": False, "custom": {"a": [1, 2]}}
    try:
        expected = reference.apply_chat_template(
            MESSAGES, tools=TOOLS, chat_template=template, tokenize=False, add_generation_prompt=True, **kwargs
        )
    except Exception as exc:  # noqa: BLE001
        expected = exc
    masker = sftmask.Masker.from_pretrained(DEMO_DIR, chat_template=template)
    if isinstance(expected, Exception):
        with pytest.raises(sftmask.TemplateError):
            masker.render(MESSAGES, tools=TOOLS, add_generation_prompt=True, **kwargs)
        if "raise_exception" in template:
            with pytest.raises(sftmask.TemplateError, match=str(expected)):
                masker.render(MESSAGES, tools=TOOLS, add_generation_prompt=True, **kwargs)
    else:
        assert masker.render(MESSAGES, tools=TOOLS, add_generation_prompt=True, **kwargs) == expected


def test_strftime_now_formats_todays_date():
    import datetime

    masker = sftmask.Masker.from_pretrained(DEMO_DIR, chat_template="{{ strftime_now('%d %b %Y') }}")
    assert masker.render([{"role": "user", "content": "x"}]) in {
        (datetime.datetime.now() + datetime.timedelta(seconds=s)).strftime("%d %b %Y") for s in (-5, 0, 5)
    }
