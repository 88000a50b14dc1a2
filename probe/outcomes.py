"""The verdict codes (a stable contract) and the remedies that go with them.

The texts live in ``outcomes.yaml`` next to this module, so adding a failure
mode means adding one entry there, not code.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

import yaml

# The remedy experiments the probe implements (``probe/diagnosis.py`` checks its
# table against this at import). An ``automatic`` remedy is one of these.
EXPERIMENTS = frozenset(
    {
        "reset_cookies",
        "reset_cache",
        "reset_storage",
        "other_device",
        "use_jp_host",
        "fresh_code",
        "other_otp_method",
        "wait_and_retry",
        "enable_two_step",
        "reset_password",
    }
)


class Verdict(enum.StrEnum):
    OK = "ok"
    CREDENTIALS_INVALID = "credentials_invalid"
    STALE_BROWSER_DATA = "stale_browser_data"
    DEVICE_SPECIFIC = "device_specific"
    TWO_STEP_NOT_ENABLED = "two_step_not_enabled"
    OTP_REJECTED = "otp_rejected"
    SYSTEM_ERROR = "system_error"
    ACCOUNT_SUSPENDED = "account_suspended"
    ACCOUNT_TAKEOVER_SUSPECTED = "account_takeover_suspected"
    WRONG_MARKETPLACE = "wrong_marketplace"
    ACCESS_LOST_DORMANT = "access_lost_dormant"
    PERMISSION_DENIED = "permission_denied"
    PASSWORD_RESET_REQUIRED = "password_reset_required"
    CAPTCHA_CHALLENGE = "captcha_challenge"
    NETWORK_UNREACHABLE = "network_unreachable"
    UNRECOGNIZED = "unrecognized"


@dataclass(frozen=True)
class Remedy:
    """Something a seller (or the probe) can do about a failed sign-in.

    ``automatic`` remedies are experiments the probe can run itself and so
    verify; the others are advice that the probe states but never claims.
    """

    name: str
    automatic: bool
    ja: str
    en: str
    proves: Verdict | None = None  # the verdict a successful experiment confirms


@dataclass(frozen=True)
class VerdictInfo:
    verdict: Verdict
    summary_ja: str
    summary_en: str
    remedy: str | None
    retry: bool


@dataclass(frozen=True)
class Catalog:
    verdicts: dict[Verdict, VerdictInfo]
    remedies: dict[str, Remedy]

    def info(self, verdict: Verdict) -> VerdictInfo:
        return self.verdicts[verdict]

    def remedy(self, name: str) -> Remedy:
        return self.remedies[name]

    def check_remedy(self, name: str, where: str, *, experiment: bool = False) -> None:
        """A load error naming ``name`` unless it has texts (and, if asked, an experiment)."""
        remedy = self.remedies.get(name)
        if remedy is None:
            raise ValueError(f"{where}: unknown remedy {name!r} (no ja/en text in outcomes.yaml)")
        if experiment and not (remedy.automatic and name in EXPERIMENTS):
            raise ValueError(f"{where}: remedy {name!r} has no experiment the probe can run")

    def default_remedy(self, verdict: Verdict) -> Remedy | None:
        name = self.verdicts[verdict].remedy
        return self.remedies[name] if name else None


def _parse_catalog(data: dict[str, Any]) -> Catalog:
    for name, r in data["remedies"].items():
        if not str(r.get("ja") or "").strip() or not str(r.get("en") or "").strip():
            raise ValueError(f"remedy {name!r}: needs a ja and an en text")
        if r.get("automatic") and name not in EXPERIMENTS:
            raise ValueError(f"remedy {name!r}: automatic, but the probe has no experiment for it")
        if r.get("automatic") and not r.get("proves"):
            raise ValueError(f"remedy {name!r}: automatic, but names no verdict it proves")
    remedies = {
        name: Remedy(
            name=name,
            automatic=bool(r["automatic"]),
            ja=r["ja"].strip(),
            en=r["en"].strip(),
            proves=Verdict(r["proves"]) if r.get("proves") else None,
        )
        for name, r in data["remedies"].items()
    }
    verdicts: dict[Verdict, VerdictInfo] = {}
    for code, v in data["verdicts"].items():
        verdict = Verdict(code)
        remedy = v.get("remedy")
        if remedy is not None and remedy not in remedies:
            raise ValueError(f"verdict {code}: unknown remedy {remedy!r}")
        verdicts[verdict] = VerdictInfo(
            verdict=verdict,
            summary_ja=v["ja"],
            summary_en=v["en"],
            remedy=remedy,
            retry=bool(v.get("retry", False)),
        )
    missing = set(Verdict) - set(verdicts)
    if missing:
        raise ValueError(f"outcomes.yaml lacks verdicts: {sorted(missing)}")
    return Catalog(verdicts=verdicts, remedies=remedies)


@cache
def catalog() -> Catalog:
    text = resources.files("probe").joinpath("outcomes.yaml").read_text(encoding="utf-8")
    return _parse_catalog(yaml.safe_load(text))
