"""The case page: one self-contained HTML document for the agent to read and forward.

Japanese first, English below. No external resources: the CSS is inline and
screenshots are embedded as ``data:`` URIs. Every text is redacted and escaped.
Unlike the reply, this page is internal, so verdict codes appear on it.
"""

from __future__ import annotations

import base64
import html
from collections.abc import Sequence
from pathlib import Path

from ..outcomes import Verdict, catalog
from ..redact import SECRETS
from .rank import Candidate, Question, Reason
from .reply import LANGS, Lang, replies
from .report import SellerReport

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
MAX_SCREENSHOT_BYTES = 8 * 1024 * 1024

LABELS: dict[str, dict[Lang, str]] = {
    "title": {"ja": "ログイン不具合 ケース票", "en": "Sign-in case sheet"},
    "report": {"ja": "セラーからの申告", "en": "What the seller reported"},
    "says": {"ja": "申告内容", "en": "In their words"},
    "seen": {"ja": "画面の表示", "en": "Message seen"},
    "url": {"ja": "URL", "en": "URL"},
    "device": {"ja": "端末", "en": "Device"},
    "browser": {"ja": "ブラウザ", "en": "Browser"},
    "two_step": {"ja": "2段階認証", "en": "Two-step"},
    "last_login": {"ja": "最終ログイン", "en": "Last sign-in"},
    "marketplace": {"ja": "マーケットプレイス", "en": "Marketplace"},
    "store": {"ja": "店舗名", "en": "Store"},
    "email": {"ja": "Eメールアドレス", "en": "Email"},
    "seller": {"ja": "セラー名", "en": "Seller"},
    "attachments": {"ja": "添付ファイル", "en": "Attachments"},
    "none": {"ja": "—", "en": "—"},
    "candidates": {"ja": "推定される原因", "en": "Likely causes"},
    "no_candidates": {
        "ja": "原因の候補は見つかりませんでした。セラーに詳細を確認してください。",
        "en": "No candidate cause was found. Ask the seller for details.",
    },
    "confidence": {"ja": "確度", "en": "Confidence"},
    "why": {"ja": "根拠", "en": "Why"},
    "reproduction": {"ja": "再現", "en": "Reproduction"},
    "scenario": {"ja": "シナリオ", "en": "Scenario"},
    "reproduced": {"ja": "再現", "en": "Reproduced"},
    "remedy": {"ja": "対処", "en": "Remedy"},
    "verified": {"ja": "対処の検証", "en": "Remedy verified"},
    "result": {"ja": "結果", "en": "Result"},
    "yes": {"ja": "はい", "en": "yes"},
    "no": {"ja": "いいえ", "en": "no"},
    "not_run": {"ja": "未実行", "en": "not run"},
    "screenshots": {"ja": "スクリーンショット", "en": "Screenshots"},
    "screenshots_above": {"ja": "", "en": "shown in the Japanese section above"},
    "missing": {"ja": "画像を読み込めません", "en": "image not readable"},
    "questions": {"ja": "セラーに確認すること", "en": "Questions to ask the seller"},
    "reply": {"ja": "返信文案", "en": "Reply draft"},
    "two_step_app": {"ja": "認証アプリ", "en": "authenticator app"},
    "two_step_sms": {"ja": "SMS", "en": "text message"},
    "two_step_voice": {"ja": "音声通話", "en": "voice call"},
    "two_step_off": {"ja": "オフ", "en": "off"},
    "two_step_unknown": {"ja": "不明", "en": "unknown"},
    "copy_hint": {"ja": "クリックすると全文を選択できます。", "en": "Click to select the whole text."},
}

CSS = """
*{box-sizing:border-box}
body{margin:0;background:#f4f5f7;color:#1f2328;font:15px/1.7 "Noto Sans CJK JP","Hiragino Sans","Yu Gothic",
"Meiryo",system-ui,sans-serif}
main{max-width:1000px;margin:0 auto;padding:28px 24px 48px}
header.case{background:#232f3e;color:#fff;border-radius:10px;padding:20px 26px;margin-bottom:22px}
header.case h1{margin:0;font-size:22px;font-weight:700;letter-spacing:.02em}
header.case p{margin:4px 0 0;color:#c9d1d9;font-size:14px}
section.lang{margin-bottom:36px}
.langbar{display:flex;align-items:center;gap:10px;margin:0 0 14px;font-size:13px;color:#57606a;
text-transform:uppercase;letter-spacing:.08em}
.langbar:after{content:"";flex:1;border-top:1px solid #d0d7de}
.card{background:#fff;border:1px solid #d8dee4;border-radius:10px;padding:18px 22px;margin-bottom:16px}
.card h2{margin:0 0 12px;font-size:17px;border-left:4px solid #ff9900;padding-left:10px}
dl.facts{display:grid;grid-template-columns:150px 1fr;gap:6px 16px;margin:0}
dl.facts dt{color:#57606a;font-size:13px;padding-top:2px}
dl.facts dd{margin:0;word-break:break-word}
blockquote{margin:0;padding:8px 14px;background:#f6f8fa;border-left:3px solid #8c959f;border-radius:4px}
.cand{border:1px solid #e3e8ee;border-radius:8px;padding:14px 16px;margin-bottom:12px}
.cand:last-child{margin-bottom:0}
.cand-head{display:flex;align-items:baseline;gap:10px;flex-wrap:wrap}
.rank{display:inline-block;min-width:26px;text-align:center;background:#232f3e;color:#fff;border-radius:13px;
font-size:13px;font-weight:700;padding:1px 8px}
.summary{font-weight:700}
code{font:12.5px/1.4 "Noto Sans Mono CJK JP",ui-monospace,monospace;background:#eef1f4;border-radius:4px;
padding:1px 6px;color:#24292f}
.bar{display:flex;align-items:center;gap:10px;margin:10px 0 6px}
.bar .track{flex:0 0 320px;height:10px;background:#e6e9ed;border-radius:5px;overflow:hidden}
.bar .fill{height:100%;border-radius:5px;background:#2da44e}
.bar .fill.mid{background:#d4a72c}.bar .fill.low{background:#a0a7b0}
.bar .pct{font-variant-numeric:tabular-nums;font-weight:700;font-size:14px}
.bar .lbl{font-size:13px;color:#57606a}
h3{font-size:14px;margin:12px 0 6px;color:#424a53}
ul.why{margin:0;padding-left:0;list-style:none}
ul.why li{padding:3px 0;display:flex;gap:8px;align-items:baseline}
.w{flex:0 0 52px;text-align:right;font-variant-numeric:tabular-nums;font-size:13px;font-weight:700}
.w.plus{color:#1a7f37}.w.minus{color:#cf222e}
.kind{font-size:11px;color:#57606a;border:1px solid #d0d7de;border-radius:10px;padding:0 7px;white-space:nowrap}
.matched{color:#57606a;font-size:13px}
table.repro{border-collapse:collapse;width:100%;font-size:14px}
table.repro th{text-align:left;font-weight:400;color:#57606a;width:150px;padding:4px 10px 4px 0;vertical-align:top}
table.repro td{padding:4px 0;vertical-align:top}
.pill{display:inline-block;border-radius:10px;padding:0 9px;font-size:12.5px;font-weight:700}
.pill.yes{background:#dafbe1;color:#116329}.pill.no{background:#ffebe9;color:#a40e26}
.pill.none{background:#eaeef2;color:#57606a}
.shots{display:grid;align-items:start;grid-template-columns:repeat(auto-fill,minmax(280px,1fr));gap:12px;margin-top:8px}
figure{margin:0;border:1px solid #d8dee4;border-radius:6px;overflow:hidden;background:#fafbfc}
figure img{display:block;width:100%;height:auto}
figcaption{font-size:12px;color:#57606a;padding:4px 8px;border-top:1px solid #d8dee4}
ol.questions{margin:0;padding-left:22px}
ol.questions li{margin:4px 0}
.tags{font-size:12px;color:#57606a}
pre.copy{white-space:pre-wrap;word-break:break-word;margin:0;background:#fbfbfc;border:1px dashed #8c959f;
border-radius:8px;padding:16px 18px;font:14px/1.75 "Noto Sans CJK JP","Hiragino Sans",system-ui,sans-serif;
user-select:all;-webkit-user-select:all;cursor:text}
.hint{font-size:12px;color:#57606a;margin:0 0 8px}
"""


def _text(value: object) -> str:
    """Any value as page text: redacted, then escaped."""
    return html.escape(SECRETS.redact(str(value)), quote=True)


def render_case_page(
    report: SellerReport,
    candidates: Sequence[Candidate],
    questions: Sequence[Question],
    reply: dict[str, str],
) -> str:
    """The whole page, Japanese section first."""
    title = LABELS["title"]
    subtitle = " · ".join(_text(v) for v in (report.store, report.seller) if v)
    sections = "\n".join(_section(report, candidates, questions, reply, lang) for lang in LANGS)
    return f"""<!DOCTYPE html>
<html lang="ja">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>{_text(title["ja"])} / {_text(title["en"])}</title>
<style>{CSS}</style>
</head>
<body>
<main>
<header class="case">
<h1>{_text(title["ja"])} <span lang="en">/ {_text(title["en"])}</span></h1>
<p>{subtitle}</p>
</header>
{sections}
</main>
</body>
</html>
"""


def _section(
    report: SellerReport,
    candidates: Sequence[Candidate],
    questions: Sequence[Question],
    reply: dict[str, str],
    lang: Lang,
) -> str:
    name = "日本語" if lang == "ja" else "English"
    parts = [
        f'<section class="lang" lang="{lang}">',
        f'<div class="langbar">{name}</div>',
        _report_card(report, lang),
        _candidates_card(candidates, lang),
    ]
    if questions:
        parts.append(_questions_card(questions, lang))
    parts.append(_reply_card(reply.get(lang, ""), lang))
    parts.append("</section>")
    return "\n".join(parts)


def _card(heading_key: str, body: str, lang: Lang) -> str:
    return f'<div class="card"><h2>{_text(LABELS[heading_key][lang])}</h2>\n{body}\n</div>'


def _report_card(report: SellerReport, lang: Lang) -> str:
    none = LABELS["none"][lang]
    attachments = ", ".join(Path(a).name for a in report.attachments)
    rows: list[tuple[str, str]] = [
        ("says", f"<blockquote>{_text(report.says)}</blockquote>"),
        ("seen", f"<blockquote>{_text(report.seen)}</blockquote>" if report.seen else _text(none)),
    ]
    plain = {
        "url": report.url,
        "device": _named("device", report.device, lang),
        "browser": _named("browser", report.browser, lang),
        "two_step": _named("two_step", report.two_step, lang),
        "last_login": report.last_login.isoformat() if report.last_login else None,
        "marketplace": report.marketplace,
        "store": report.store,
        "email": report.email,
        "seller": report.seller,
        "attachments": attachments or None,
    }
    rows.extend((key, _text(value if value else none)) for key, value in plain.items())
    items = "\n".join(f"<dt>{_text(LABELS[key][lang])}</dt><dd>{value}</dd>" for key, value in rows)
    return _card("report", f'<dl class="facts">\n{items}\n</dl>', lang)


def _named(kind: str, value: str | None, lang: Lang) -> str | None:
    """A device, browser or 2-step method as people say it, with the report's own value after it."""
    if value is None:
        return None
    key = f"{kind}_{value}"
    common = replies().common
    name = LABELS[key][lang] if key in LABELS else common[key][lang] if key in common else value
    return name if name == value else f"{name} ({value})"


def _candidates_card(candidates: Sequence[Candidate], lang: Lang) -> str:
    if not candidates:
        return _card("candidates", f"<p>{_text(LABELS['no_candidates'][lang])}</p>", lang)
    body = "\n".join(_candidate(rank, c, lang) for rank, c in enumerate(candidates, start=1))
    return _card("candidates", body, lang)


def _summary(verdict: str, lang: Lang) -> str:
    try:
        info = catalog().info(Verdict(verdict))
    except ValueError:
        return verdict
    return info.summary_ja if lang == "ja" else info.summary_en


def _candidate(rank: int, c: Candidate, lang: Lang) -> str:
    percent = round(max(0.0, min(1.0, c.confidence)) * 100)
    level = "" if percent >= 60 else " mid" if percent >= 30 else " low"
    reasons = "\n".join(_reason(r, lang) for r in c.why)
    why = f'<h3>{_text(LABELS["why"][lang])}</h3>\n<ul class="why">\n{reasons}\n</ul>' if c.why else ""
    return f"""<div class="cand">
<div class="cand-head"><span class="rank">{rank}</span><span class="summary">{_text(_summary(c.verdict, lang))}</span>
<code>{_text(c.verdict)}</code><code>{_text(c.situation)}</code></div>
<div class="bar"><span class="lbl">{_text(LABELS["confidence"][lang])}</span>
<span class="track"><span class="fill{level}" style="width:{percent}%;display:block"></span></span>
<span class="pct">{percent}%</span></div>
{why}
<h3>{_text(LABELS["reproduction"][lang])}</h3>
{_reproduction(c, lang)}
</div>"""


def _reason(reason: Reason, lang: Lang) -> str:
    sign = "plus" if reason.weight >= 0 else "minus"
    note = reason.note_ja if lang == "ja" else reason.note_en
    open_quote, close_quote = ("「", "」") if lang == "ja" else ("“", "”")
    matched = f' <span class="matched">{open_quote}{_text(reason.text)}{close_quote}</span>' if reason.text else ""
    return (
        f'<li><span class="w {sign}">{reason.weight:+.2f}</span><span class="kind">{_text(reason.kind)}</span>'
        f"<span>{_text(note)}{matched}</span></li>"
    )


def _flag(value: bool | None, lang: Lang) -> str:
    key, css = ("not_run", "none") if value is None else ("yes", "yes") if value else ("no", "no")
    return f'<span class="pill {css}">{_text(LABELS[key][lang])}</span>'


def _reproduction(c: Candidate, lang: Lang) -> str:
    rows = [
        ("scenario", f"<code>{_text(c.scenario)}</code>" if c.scenario else _text(LABELS["none"][lang])),
        ("reproduced", _flag(c.reproduced, lang)),
        ("remedy", _remedy(c.remedy, lang)),
        ("verified", _flag(c.remedy_verified, lang) if c.remedy else _text(LABELS["none"][lang])),
    ]
    if c.result is not None:
        detail = str(getattr(c.result, "detail_ja", "") or c.result.detail) if lang == "ja" else c.result.detail
        result = (
            f"<code>{_text(c.result.verdict)}</code> {_text(detail)}"
            if detail
            else f"<code>{_text(c.result.verdict)}</code>"
        )
        rows.append(("result", result))
    if c.screenshots:
        rows.append(("screenshots", _screenshots(c.screenshots, lang)))
    body = "\n".join(f"<tr><th>{_text(LABELS[key][lang])}</th><td>{value}</td></tr>" for key, value in rows)
    return f'<table class="repro">\n{body}\n</table>'


def _remedy(name: str | None, lang: Lang) -> str:
    if not name:
        return _text(LABELS["none"][lang])
    remedy = catalog().remedies.get(name)
    text = (remedy.ja if lang == "ja" else remedy.en) if remedy else ""
    return f"<code>{_text(name)}</code> {_text(text)}".rstrip()


def _screenshots(paths: Sequence[Path], lang: Lang) -> str:
    if lang != "ja":  # embedded once, in the first section, to keep the page small
        return f"{len(paths)} ({_text(LABELS['screenshots_above'][lang])})"
    figures = "\n".join(_figure(path, lang) for path in paths)
    return f'<div class="shots">\n{figures}\n</div>'


def _figure(path: Path, lang: Lang) -> str:
    caption = _text(path.name)
    uri = png_data_uri(path)
    if uri is None:
        return f"<figure><figcaption>{caption} — {_text(LABELS['missing'][lang])}</figcaption></figure>"
    return f'<figure><img src="{uri}" alt="{caption}"><figcaption>{caption}</figcaption></figure>'


def png_data_uri(path: Path) -> str | None:
    """A PNG file as a ``data:`` URI, or None when it is missing, too large or not a PNG."""
    try:
        if path.stat().st_size > MAX_SCREENSHOT_BYTES:
            return None
        data = path.read_bytes()
    except OSError:
        return None
    if not data.startswith(PNG_SIGNATURE):
        return None
    return "data:image/png;base64," + base64.b64encode(data).decode("ascii")


def _questions_card(questions: Sequence[Question], lang: Lang) -> str:
    items = "\n".join(
        f"<li>{_text(q.ja if lang == 'ja' else q.en)} "
        f'<span class="tags">({_text(q.separates[0])} / {_text(q.separates[1])})</span></li>'
        for q in questions
    )
    return _card("questions", f'<ol class="questions">\n{items}\n</ol>', lang)


def _reply_card(text: str, lang: Lang) -> str:
    hint = f'<p class="hint">{_text(LABELS["copy_hint"][lang])}</p>'
    return _card("reply", f'{hint}\n<pre class="copy" tabindex="0">{_text(text.strip())}</pre>', lang)
