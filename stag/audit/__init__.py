"""Input audit of precomputed flow copies: channel order and sign, phase direction, registration
of the flows to the faces their ROIs are placed on, and whether the ROIs hold the coded motion
(:mod:`stag.audit.report`; ``stag data audit``)."""

from stag.audit.report import AuditConfig, failures, run_audit, write_audit

__all__ = ["AuditConfig", "failures", "run_audit", "write_audit"]
