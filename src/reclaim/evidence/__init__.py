"""Evidence to hand over: a case's evidence bundle (zip with a SHA-256 manifest) and its offline check."""

from reclaim.evidence.bundle import FORMAT, Exported, Verified, export_bundle, verify_bundle

__all__ = ["FORMAT", "Exported", "Verified", "export_bundle", "verify_bundle"]
