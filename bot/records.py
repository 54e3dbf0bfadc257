"""Typed records the bot keeps in its storage: who an officer is, and where to reach them."""

from __future__ import annotations

from collections.abc import MutableMapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from microsoft_agents.activity import Activity, ConversationReference
from microsoft_agents.hosting.core.storage import Storage, StoreItem

from bot.flows.engine import FlowState


@dataclass(frozen=True)
class OfficerProfile:
    """An officer's name and email from Teams' members API, cached in user state."""

    email: str
    name: str
    aad_object_id: str
    fetched_at: datetime

    def to_json(self) -> dict[str, Any]:
        return {
            "email": self.email,
            "name": self.name,
            "aad_object_id": self.aad_object_id,
            "fetched_at": self.fetched_at.isoformat(),
        }

    @classmethod
    def from_json(cls, data: MutableMapping[str, Any]) -> OfficerProfile | None:
        try:
            return cls(
                str(data["email"]),
                str(data.get("name", "")),
                str(data.get("aad_object_id", "")),
                datetime.fromisoformat(str(data["fetched_at"])),
            )
        except (KeyError, ValueError):
            return None


class ProfileRecord(StoreItem):
    """User state: the officer's cached profile."""

    def __init__(self, profile: OfficerProfile | None) -> None:
        self.profile = profile

    def store_item_to_json(self) -> dict[str, Any]:
        return self.profile.to_json() if self.profile else {}

    @staticmethod
    def from_json_to_store_item(json_data: MutableMapping[str, Any]) -> ProfileRecord:
        return ProfileRecord(OfficerProfile.from_json(json_data))


class FlowRecord(StoreItem):
    """Conversation state: where one officer is in a conversation (a flow under way)."""

    def __init__(self, flow: FlowState) -> None:
        self.flow = flow

    def store_item_to_json(self) -> dict[str, Any]:
        return self.flow.to_json()

    @staticmethod
    def from_json_to_store_item(json_data: MutableMapping[str, Any]) -> FlowRecord:
        return FlowRecord(FlowState.from_json(json_data))


class ReferenceItem(StoreItem):
    def __init__(self, reference: dict[str, Any]) -> None:
        self.reference = reference

    def store_item_to_json(self) -> dict[str, Any]:
        return {"reference": self.reference}

    @staticmethod
    def from_json_to_store_item(json_data: MutableMapping[str, Any]) -> ReferenceItem:
        return ReferenceItem(dict(json_data.get("reference") or {}))


class References:
    """Each officer's personal conversation with the bot, by email and by AAD object id, for notices."""

    def __init__(self, storage: Storage) -> None:
        self.storage = storage
        self._known: dict[str, tuple[object, ...]] = {}  # what was last written: a turn writes only on change

    async def remember(self, email: str, aad_object_id: str, activity: Activity) -> None:
        conversation = activity.conversation
        recipient = activity.recipient
        # Where to reach them: the same on every turn of a conversation, so compared cheaply first.
        fingerprint = (
            activity.channel_id,
            activity.service_url,
            conversation.id if conversation else None,
            recipient.id if recipient else None,
        )
        keys = [f"references/{who}" for who in (email, aad_object_id) if who]
        stale = [k for k in keys if self._known.get(k) != fingerprint]
        if not stale:
            return
        data = activity.get_conversation_reference().model_dump(mode="json", by_alias=True, exclude_none=True)
        for per_request in ("activityId", "requestId"):  # new on every turn: not part of where to reach them
            data.pop(per_request, None)
        await self.storage.write({k: ReferenceItem(data) for k in stale})
        for key in stale:
            self._known[key] = fingerprint

    async def find(self, who: str) -> ConversationReference | None:
        key = f"references/{who.lower()}"
        found = await self.storage.read([key], target_cls=ReferenceItem)
        item = found.get(key)
        if item is None or not item.reference:
            return None
        return ConversationReference.model_validate(item.reference)
