"""probe: drive a real Chromium through a Seller Central (Japan) sign-in and say why it fails."""

from .outcomes import Verdict

__all__ = ["Verdict"]
__version__ = "0.1.0"
