"""OpenAI Images API request and response schemas (the subset the engine serves)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class OpenAIImageRequest(BaseModel):
    model_config = ConfigDict(extra="ignore", allow_inf_nan=False)

    prompt: str = Field(min_length=1)
    n: int = Field(default=1, ge=1, le=8)
    size: str | None = Field(default="auto", description="WIDTHxHEIGHT, mapped onto the nearest supported size; or auto.")
    response_format: Literal["b64_json"] | None = Field(default="b64_json", description="Only b64_json is served.")
    model: str | None = Field(default=None, description="Ignored: the engine serves its resident model.")
    quality: str | None = None
    style: str | None = None
    user: str | None = None


class OpenAIImageData(BaseModel):
    b64_json: str
    revised_prompt: str | None = None


class OpenAIImagesResponse(BaseModel):
    created: int
    data: list[OpenAIImageData]
