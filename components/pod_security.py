"""Pod Security Standards as namespace labels (Kubernetes docs, "Pod Security Admission")."""

# Enforced, audited and warned: pods must meet the `restricted` profile.
RESTRICTED = {f"pod-security.kubernetes.io/{mode}": "restricted" for mode in ("enforce", "audit", "warn")}
