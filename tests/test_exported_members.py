"""The public surface: ``microdc.__all__`` is exactly what the package exposes, under public module names."""

from __future__ import annotations

import types
from typing import Dict

import pytest

import microdc

CORE_CLASSES = [
    "AsyncMicroDC",
    "BaseModel",
    "AsyncAPIResponse",
    "AsyncBinaryAPIResponse",
    "AsyncStream",
    "DefaultAsyncHttpxClient",
    "NotGiven",
    "Omit",
    "RetryPolicy",
    "MicroDCError",
    "APIError",
    "APIStatusError",
    "APIConnectionError",
    "APITimeoutError",
    "APIResponseValidationError",
    "BadRequestError",
    "AuthenticationError",
    "PermissionDeniedError",
    "NotFoundError",
    "ConflictError",
    "UnprocessableEntityError",
    "RateLimitError",
    "InternalServerError",
    "JobWaitTimeoutError",
    "JobFailedError",
    "BudgetExceededError",
    "OutputValidationError",
    "Prompt",
]


def test_all_has_no_duplicates() -> None:
    assert len(microdc.__all__) == len(set(microdc.__all__))


@pytest.mark.parametrize("name", microdc.__all__)
def test_every_name_in_all_resolves(name: str) -> None:
    assert getattr(microdc, name) is not None


def test_every_public_member_is_in_all() -> None:
    exposed = {
        name
        for name, value in vars(microdc).items()
        if not name.startswith("_")
        and not isinstance(value, types.ModuleType)
        and str(getattr(value, "__module__", "")).startswith("microdc")
    }
    assert exposed - set(microdc.__all__) == set()


def test_the_contract_names_are_exported() -> None:
    assert set(CORE_CLASSES) <= set(microdc.__all__)
    assert {"NOT_GIVEN", "omit", "is_given", "__version__", "DEFAULT_TIMEOUT", "DEFAULT_MAX_RETRIES"} <= set(
        microdc.__all__
    )


@pytest.mark.parametrize("name", CORE_CLASSES)
def test_reexported_class_says_module_microdc(name: str) -> None:
    assert getattr(microdc, name).__module__ == "microdc"


@pytest.mark.parametrize("name", microdc.__all__)
def test_no_exported_class_names_a_private_module(name: str) -> None:
    value = getattr(microdc, name)
    if isinstance(value, type):
        assert not any(part.startswith("_") for part in value.__module__.split("."))


def test_traceback_name_of_an_error() -> None:
    assert repr(microdc.NotFoundError) == "<class 'microdc.NotFoundError'>"


def test_star_import_gives_all() -> None:
    namespace: Dict[str, object] = {}
    exec("from microdc import *", namespace)
    assert set(microdc.__all__) <= set(namespace)


def test_unknown_attribute_is_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no_such_thing"):
        getattr(microdc, "no_such_thing")  # noqa: B009


def test_sentinels_are_singletons_with_reprs() -> None:
    assert repr(microdc.NOT_GIVEN) == "NOT_GIVEN"
    assert repr(microdc.omit) == "omit"
    assert not microdc.NOT_GIVEN
    assert not microdc.omit
    assert not microdc.is_given(microdc.NOT_GIVEN)
    assert not microdc.is_given(microdc.omit)
    assert microdc.is_given(None)
