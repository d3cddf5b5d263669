from __future__ import annotations

from pathlib import Path

import pytest

from klaviyo_analytics.config import Settings
from tests.helpers import make_settings


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path)
