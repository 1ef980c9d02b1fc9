"""The client variants, each imported only by the worker process that runs it."""

from __future__ import annotations

import importlib
from typing import Dict, Tuple

from .base import Variant, Unavailable

__all__ = ["BASELINES", "VARIANTS", "Unavailable", "Variant", "load"]

# name -> (module, class, what it is)
VARIANTS: Dict[str, Tuple[str, str, str]] = {
    "raw_httpx": ("raw_httpx", "RawHttpx", "httpx.AsyncClient + Job.model_validate(resp.json())"),
    "raw_httpx_httpcore2": (
        "raw_httpx_httpcore2",
        "RawHttpxHttpcore2",
        "raw_httpx on httpx.AsyncClient(transport=microdc's Httpcore2Transport)",
    ),
    "raw_aiohttp": ("raw_aiohttp", "RawAiohttp", "aiohttp.ClientSession + Job.model_validate(await resp.json())"),
    "microdc": ("microdc_sdk", "MicroDC", "microdc.AsyncMicroDC (default httpx client)"),
    "microdc_aiohttp": ("microdc_sdk", "MicroDCAiohttp", "microdc.AsyncMicroDC(http_client=DefaultAioHttpClient())"),
    "openai": ("openai_peer", "OpenAIPeer", "openai.AsyncOpenAI generic get/post/get_api_list (its default client)"),
}

# The variant each one is compared with (ratios in the report).
BASELINES: Dict[str, str] = {
    "raw_httpx": "raw_httpx",
    "raw_httpx_httpcore2": "raw_httpx",
    "raw_aiohttp": "raw_httpx",
    "microdc": "raw_httpx",
    "microdc_aiohttp": "raw_aiohttp",
    "openai": "raw_httpx",
}


def load(name: str) -> Variant:
    """Import the variant's module (and so its client library) and make one."""
    module_name, class_name, _ = VARIANTS[name]
    try:
        module = importlib.import_module(f"{__name__}.{module_name}")
    except ImportError as exc:
        raise Unavailable(f"{module_name}: {exc}") from exc
    cls = getattr(module, class_name)
    variant = cls()
    assert isinstance(variant, Variant)
    return variant
