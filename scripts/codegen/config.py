"""The generator's own settings (``config.yml``): what openapi.yml does not say."""

from __future__ import annotations

from typing import Any, Dict, Mapping
from pathlib import Path
from dataclasses import dataclass

import yaml

CONFIG_PATH = Path(__file__).with_name("config.yml")


@dataclass
class ResourceSettings:
    title: str
    singular: str
    class_ref: str
    """``module:Class`` of what ``client.<resource>`` instantiates."""


@dataclass
class TestSettings:
    base_url_env: str
    default_base_url: str
    api_key: str
    marker: str


@dataclass
class Config:
    package: str
    client_base_class: str
    client_class: str
    resources: Dict[str, ResourceSettings]
    pagination: Dict[str, str]
    client_managed_headers: Dict[str, str]
    tests: TestSettings


def load_config(text: str) -> Config:
    raw: Mapping[str, Any] = yaml.safe_load(text)
    return Config(
        package=raw["package"],
        client_base_class=raw["client"]["base_class"],
        client_class=raw["client"]["class"],
        resources={
            name: ResourceSettings(title=r["title"], singular=r["singular"], class_ref=r["class"])
            for name, r in raw["resources"].items()
        },
        pagination=dict(raw["pagination"]),
        client_managed_headers={name: h["options"] for name, h in raw["client_managed_headers"].items()},
        tests=TestSettings(**raw["tests"]),
    )
