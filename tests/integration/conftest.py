"""Fixtures for the integration tests."""

from tests.integration.sites import site  # noqa: F401 - the fixture, for every module here
