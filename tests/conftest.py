"""Shared test configuration: a bounded hypothesis profile (the suite must stay fast)."""

from hypothesis import HealthCheck, settings

settings.register_profile(
    "cipherchat",
    max_examples=50,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile("cipherchat")
