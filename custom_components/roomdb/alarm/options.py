"""Forms and validation of the options flow's alarm sections.

"alarm" (main code, lockout, timings) and "alarm_sync" are single forms the options flow shows;
"alarm_sensors", "alarm_users" and "alarm_notify" are steps of `AlarmOptionsFlow`, which the
options flow inherits: choosing sensors then fine-tuning one, picking a user then editing it.
Codes are hashed, and compared with the other users' codes, in a worker thread.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Final

from homeassistant.components.alarm_control_panel.const import DOMAIN as ALARM_DOMAIN
from homeassistant.config_entries import ConfigFlowResult, OptionsFlow
from homeassistant.const import ATTR_DEVICE_CLASS, Platform
from homeassistant.core import HomeAssistant, split_entity_id, valid_entity_id
from homeassistant.data_entry_flow import section
from homeassistant.helpers import entity_registry as er, selector
import probatio as vol

from ..const import DOMAIN
from .const import (
    CONF_ALARM_CLEAR_CODE,
    CONF_ALARM_CODE,
    CONF_ALARM_CODE_ARM_REQUIRED,
    CONF_ALARM_CODE_HASH,
    CONF_ALARM_DISARM_AFTER_TRIGGER,
    CONF_ALARM_LOCKOUT_ATTEMPTS,
    CONF_ALARM_LOCKOUT_TIME,
    CONF_ALARM_NOTIFY_EVENTS,
    CONF_ALARM_NOTIFY_TARGETS,
    CONF_ALARM_SENSOR_EDIT,
    CONF_ALARM_SENSORS,
    CONF_ALARM_TIMES,
    CONF_ALARM_USER_EDIT,
    CONF_ALARM_USERS,
    CONF_ARMING_TIME,
    CONF_SYNC_CODE,
    CONF_SYNC_ENABLED,
    CONF_SYNC_HA_AUTHORITATIVE,
    CONF_SYNC_SEND_CODE,
    CONF_SYNC_SKEW_TOLERANCE,
    CONF_SYNC_TARGET,
    CONF_USER_ARM_MODES,
    CONF_USER_CODE,
    CONF_USER_CODE_ARM_REQUIRED,
    CONF_USER_DISARM_MODES,
    CONF_USER_NAME,
    CONF_USER_REMOVE,
    DEFAULT_TIMES,
    MAIN_USER,
    NEW_USER,
)
from .machine import ARM_MODES, ARMED_STATES, AlarmState, CodeHash, User
from .notify import NOTIFY_DOMAIN, SERVICE_SEND_MESSAGE
from .security import EventKind
from .sensor_rules import SENSOR_FLAGS, SensorConfig, default_sensor
from .settings import main_user, mode_times, named_users, option

MODE_OPTIONS: Final = [str(mode) for mode in ARM_MODES]

MAX_SECONDS = 3600

_SECONDS = selector.NumberSelector(
    selector.NumberSelectorConfig(
        min=0,
        max=MAX_SECONDS,
        step=1,
        unit_of_measurement="s",
        mode=selector.NumberSelectorMode.BOX,
    )
)
_PASSWORD = selector.TextSelector(
    selector.TextSelectorConfig(type=selector.TextSelectorType.PASSWORD)
)
_BOOLEAN = selector.BooleanSelector()
_MODES = selector.SelectSelector(
    selector.SelectSelectorConfig(
        options=MODE_OPTIONS,
        multiple=True,
        translation_key="alarm_modes",
        mode=selector.SelectSelectorMode.LIST,
    )
)
_LOCKOUT_ATTEMPTS = selector.NumberSelector(
    selector.NumberSelectorConfig(min=0, max=20, step=1, mode=selector.NumberSelectorMode.BOX)
)


def _stored(options: Mapping[str, Any], key: str) -> vol.Required:
    """A required field whose default is the stored option, or the option's default."""
    return vol.Required(key, default=option(options, key))


def alarm_schema(options: Mapping[str, Any]) -> vol.Schema:
    """The "alarm" form: main code, lockout, trigger behaviour, a collapsed section per state."""
    fields: dict[Any, Any] = {
        vol.Optional(CONF_ALARM_CODE): _PASSWORD,
        vol.Required(CONF_ALARM_CLEAR_CODE, default=False): _BOOLEAN,
        _stored(options, CONF_ALARM_CODE_ARM_REQUIRED): _BOOLEAN,
        _stored(options, CONF_ALARM_LOCKOUT_ATTEMPTS): _LOCKOUT_ATTEMPTS,
        _stored(options, CONF_ALARM_LOCKOUT_TIME): _SECONDS,
        _stored(options, CONF_ALARM_DISARM_AFTER_TRIGGER): _BOOLEAN,
    }
    for state in DEFAULT_TIMES:
        times = mode_times(options, state)
        if state is AlarmState.DISARMED:
            del times[CONF_ARMING_TIME]  # nothing is armed from here
        # A section left out keeps its timings (a mode added since the caller's form was built).
        fields[vol.Required(str(state), default=dict)] = section(
            vol.Schema(
                {vol.Required(key, default=value): _SECONDS for key, value in times.items()}
            ),
            {"collapsed": True},
        )
    return vol.Schema(fields)


async def async_alarm_options(
    hass: HomeAssistant, user_input: Mapping[str, Any], options: Mapping[str, Any]
) -> tuple[dict[str, Any], dict[str, str]]:
    """Turn the "alarm" form into options (the code only as its hash) or form errors.

    The main code must differ from every named user's code: a code picks its user.
    """
    code = user_input.get(CONF_ALARM_CODE) or ""
    clear = bool(user_input.get(CONF_ALARM_CLEAR_CODE))
    if code and clear:
        return {}, {CONF_ALARM_CODE: "code_conflict"}
    others = [user.code_hash for user in named_users(options)]
    if code and await _async_code_taken(hass, code, others):
        return {}, {CONF_ALARM_CODE: "code_taken"}
    new_options: dict[str, Any] = {
        CONF_ALARM_CODE_ARM_REQUIRED: bool(user_input[CONF_ALARM_CODE_ARM_REQUIRED]),
        CONF_ALARM_LOCKOUT_ATTEMPTS: int(user_input[CONF_ALARM_LOCKOUT_ATTEMPTS]),
        CONF_ALARM_LOCKOUT_TIME: float(user_input[CONF_ALARM_LOCKOUT_TIME]),
        CONF_ALARM_DISARM_AFTER_TRIGGER: bool(user_input[CONF_ALARM_DISARM_AFTER_TRIGGER]),
        CONF_ALARM_TIMES: {
            str(state): {key: float(value) for key, value in user_input[str(state)].items()}
            for state in DEFAULT_TIMES
        },
    }
    if clear:
        new_options[CONF_ALARM_CODE_HASH] = None
    elif code:
        # PBKDF2 on purpose takes a while: off the event loop.
        hashed = await hass.async_add_executor_job(CodeHash.create, code)
        new_options[CONF_ALARM_CODE_HASH] = hashed.to_dict()
    return new_options, {}


def _code_taken(code: str, hashes: Iterable[CodeHash]) -> bool:
    return any(code_hash.verify(code) for code_hash in hashes)


async def _async_code_taken(hass: HomeAssistant, code: str, hashes: Iterable[CodeHash]) -> bool:
    """Whether `code` is already one of `hashes` (checked in a worker thread: slow on purpose)."""
    return await hass.async_add_executor_job(_code_taken, code, list(hashes))


def sync_schema(options: Mapping[str, Any]) -> vol.Schema:
    """The "alarm_sync" form. The target picker only lists alarm panels.

    The domain is a picker filter rather than the selector's `domain` key: that key would make the
    schema reject a wrong entity before `validate_sync` can answer with a translated error.
    """
    return vol.Schema(
        {
            _stored(options, CONF_SYNC_ENABLED): _BOOLEAN,
            vol.Optional(
                CONF_SYNC_TARGET,
                description={"suggested_value": options.get(CONF_SYNC_TARGET)},
            ): selector.EntitySelector(
                selector.EntitySelectorConfig(
                    filter=selector.EntityWithDeviceFilterSelectorConfig(domain=ALARM_DOMAIN)
                )
            ),
            _stored(options, CONF_SYNC_HA_AUTHORITATIVE): _BOOLEAN,
            _stored(options, CONF_SYNC_SEND_CODE): _BOOLEAN,
            vol.Optional(CONF_SYNC_CODE): _PASSWORD,
            _stored(options, CONF_SYNC_SKEW_TOLERANCE): selector.NumberSelector(
                selector.NumberSelectorConfig(
                    min=0,
                    max=60,
                    step=0.5,
                    unit_of_measurement="s",
                    mode=selector.NumberSelectorMode.BOX,
                )
            ),
        }
    )


def _target_error(hass: HomeAssistant, target: str) -> str | None:
    """Return the error key for a target that does not exist, is no panel or is RoomDB's own."""
    if not valid_entity_id(target):
        return "target_not_found"
    if split_entity_id(target)[0] != ALARM_DOMAIN:
        return "target_wrong_domain"
    registry_entry = er.async_get(hass).async_get(target)
    if registry_entry is not None and registry_entry.platform == DOMAIN:
        return "target_is_self"
    if registry_entry is None and hass.states.get(target) is None:
        return "target_not_found"
    return None


def validate_sync(
    hass: HomeAssistant, user_input: Mapping[str, Any], options: Mapping[str, Any]
) -> tuple[dict[str, Any], dict[str, str]]:
    """Turn the "alarm_sync" form into options or form errors.

    An empty code field keeps the stored code; turning "send code" off forgets it.
    """
    errors: dict[str, str] = {}
    enabled = bool(user_input[CONF_SYNC_ENABLED])
    target: str | None = user_input.get(CONF_SYNC_TARGET) or None
    if target is not None:
        target = er.async_resolve_entity_id(er.async_get(hass), target) or target
        if error := _target_error(hass, target):
            errors[CONF_SYNC_TARGET] = error
    elif enabled:
        errors[CONF_SYNC_TARGET] = "target_required"
    send_code = bool(user_input[CONF_SYNC_SEND_CODE])
    code = user_input.get(CONF_SYNC_CODE) or options.get(CONF_SYNC_CODE)
    if send_code and not code:
        errors[CONF_SYNC_CODE] = "sync_code_required"
    if errors:
        return {}, errors
    return {
        CONF_SYNC_ENABLED: enabled,
        CONF_SYNC_TARGET: target,
        CONF_SYNC_HA_AUTHORITATIVE: bool(user_input[CONF_SYNC_HA_AUTHORITATIVE]),
        CONF_SYNC_SEND_CODE: send_code,
        CONF_SYNC_CODE: code if send_code else None,
        CONF_SYNC_SKEW_TOLERANCE: float(user_input[CONF_SYNC_SKEW_TOLERANCE]),
    }, {}


class AlarmOptionsFlow(OptionsFlow):
    """The options flow's steps for sensors, users and notifications (a mixin of its class)."""

    _alarm_sensors: dict[str, Any] | None = None
    """The sensors chosen in "alarm_sensors", while one of them is fine-tuned."""
    _alarm_sensor: str | None = None
    _alarm_user: int | None = None
    """Which named user "alarm_user" edits (None: a new one)."""

    def _save_alarm(self, changes: Mapping[str, Any]) -> ConfigFlowResult:
        return self.async_create_entry(data={**self.config_entry.options, **changes})

    # -- sensors ---------------------------------------------------------------------------------

    async def async_step_alarm_sensors(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Choose the sensors (new ones get settings by device class), then maybe fine-tune one."""
        stored: dict[str, Any] = dict(self.config_entry.options.get(CONF_ALARM_SENSORS) or {})
        errors: dict[str, str] = {}
        if user_input is not None:
            entity_ids = list(user_input.get(CONF_ALARM_SENSORS) or ())
            chosen = {
                entity_id: stored.get(entity_id) or self._default_sensor(entity_id)
                for entity_id in entity_ids
            }
            edit = user_input.get(CONF_ALARM_SENSOR_EDIT)
            if error := next(
                filter(None, (_sensor_error(self.hass, eid) for eid in entity_ids)), None
            ):
                errors[CONF_ALARM_SENSORS] = error
            elif edit is None:
                return self._save_alarm({CONF_ALARM_SENSORS: chosen})
            elif edit in chosen:
                self._alarm_sensors, self._alarm_sensor = chosen, edit
                return await self.async_step_alarm_sensor()
            else:
                errors[CONF_ALARM_SENSOR_EDIT] = "sensor_not_chosen"
        binary_sensor = selector.EntityWithDeviceFilterSelectorConfig(domain=Platform.BINARY_SENSOR)
        schema = vol.Schema(
            {
                vol.Optional(CONF_ALARM_SENSORS, default=list(stored)): selector.EntitySelector(
                    selector.EntitySelectorConfig(filter=binary_sensor, multiple=True)
                ),
                vol.Optional(CONF_ALARM_SENSOR_EDIT): selector.EntitySelector(
                    selector.EntitySelectorConfig(filter=binary_sensor)
                ),
            }
        )
        if user_input is not None:
            schema = self.add_suggested_values_to_schema(schema, user_input)
        return self.async_show_form(step_id="alarm_sensors", data_schema=schema, errors=errors)

    def _default_sensor(self, entity_id: str) -> dict[str, Any]:
        state = self.hass.states.get(entity_id)
        device_class = None if state is None else state.attributes.get(ATTR_DEVICE_CLASS)
        return default_sensor(entity_id, device_class).to_dict()

    async def async_step_alarm_sensor(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """When, and how, one sensor guards the panel."""
        assert self._alarm_sensors is not None
        assert self._alarm_sensor is not None
        entity_id = self._alarm_sensor
        current = SensorConfig.from_dict(entity_id, self._alarm_sensors[entity_id])
        errors: dict[str, str] = {}
        if user_input is not None:
            sensor = SensorConfig(
                entity_id=entity_id,
                modes=frozenset(AlarmState(mode) for mode in user_input["modes"]),
                **{flag: bool(user_input[flag]) for flag in SENSOR_FLAGS},
            )
            if sensor.modes or sensor.always_on:
                return self._save_alarm(
                    {CONF_ALARM_SENSORS: {**self._alarm_sensors, entity_id: sensor.to_dict()}}
                )
            errors["modes"] = "sensor_guards_nothing"
        defaults = current.to_dict()
        schema = vol.Schema(
            {
                vol.Required("modes", default=defaults["modes"]): _MODES,
                **{vol.Required(flag, default=defaults[flag]): _BOOLEAN for flag in SENSOR_FLAGS},
            }
        )
        if user_input is not None:
            schema = self.add_suggested_values_to_schema(schema, user_input)
        state = self.hass.states.get(entity_id)
        return self.async_show_form(
            step_id="alarm_sensor",
            data_schema=schema,
            errors=errors,
            description_placeholders={
                "sensor": entity_id if state is None else f"{state.name} ({entity_id})"
            },
        )

    # -- users -----------------------------------------------------------------------------------

    async def async_step_alarm_users(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Pick a user to edit, or add one."""
        named = named_users(self.config_entry.options)
        if user_input is not None or not named:
            choice = NEW_USER if user_input is None else user_input[CONF_ALARM_USER_EDIT]
            self._alarm_user = None if choice == NEW_USER else int(choice)
            return await self.async_step_alarm_user()
        choices = [selector.SelectOptionDict(value=NEW_USER, label=NEW_USER)] + [
            selector.SelectOptionDict(value=str(index), label=user.name)
            for index, user in enumerate(named)
        ]
        schema = vol.Schema(
            {
                vol.Required(CONF_ALARM_USER_EDIT, default=NEW_USER): selector.SelectSelector(
                    selector.SelectSelectorConfig(
                        options=choices,
                        translation_key="alarm_user",
                        mode=selector.SelectSelectorMode.LIST,
                    )
                )
            }
        )
        return self.async_show_form(step_id="alarm_users", data_schema=schema)

    async def async_step_alarm_user(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """A user's name, code and permissions (or removing the user)."""
        options = self.config_entry.options
        named = list(named_users(options))
        index = self._alarm_user
        current = None if index is None else named[index]
        others = [user for position, user in enumerate(named) if position != index]
        errors: dict[str, str] = {}
        if user_input is not None:
            if current is not None and user_input.get(CONF_USER_REMOVE):
                return self._save_users(others)
            user, errors = await self._async_user(user_input, current, others)
            if user is not None:
                if index is None:
                    named.append(user)
                else:
                    named[index] = user
                return self._save_users(named)
        fields: dict[Any, Any] = {
            vol.Required(
                CONF_USER_NAME, default="" if current is None else current.name
            ): selector.TextSelector(),
            vol.Optional(CONF_USER_CODE): _PASSWORD,
            vol.Required(
                CONF_USER_ARM_MODES,
                default=_mode_list(ARMED_STATES if current is None else current.arm_modes),
            ): _MODES,
            vol.Required(
                CONF_USER_DISARM_MODES,
                default=_mode_list(ARMED_STATES if current is None else current.disarm_modes),
            ): _MODES,
            vol.Required(
                CONF_USER_CODE_ARM_REQUIRED,
                default=False if current is None else current.code_arm_required,
            ): _BOOLEAN,
        }
        if current is not None:
            fields[vol.Required(CONF_USER_REMOVE, default=False)] = _BOOLEAN
        schema = vol.Schema(fields)
        if user_input is not None:
            shown = {key: value for key, value in user_input.items() if key != CONF_USER_CODE}
            schema = self.add_suggested_values_to_schema(schema, shown)
        return self.async_show_form(step_id="alarm_user", data_schema=schema, errors=errors)

    async def _async_user(
        self, user_input: Mapping[str, Any], current: User | None, others: list[User]
    ) -> tuple[User | None, dict[str, str]]:
        """Build the user from the form (a new code hashed off the loop), or the form errors.

        Names and codes must be unique: the name is what `changed_by` shows, the code picks the
        user. An empty code keeps the user's code.
        """
        name = str(user_input[CONF_USER_NAME]).strip()
        code = user_input.get(CONF_USER_CODE) or ""
        errors: dict[str, str] = {}
        if not name:
            errors[CONF_USER_NAME] = "user_name_required"
        elif name == MAIN_USER or name in {user.name for user in others}:
            errors[CONF_USER_NAME] = "user_name_taken"
        main = main_user(self.config_entry.options)
        taken = [user.code_hash for user in others] + ([] if main is None else [main.code_hash])
        if not code and current is None:
            errors[CONF_USER_CODE] = "user_code_required"
        elif code and await _async_code_taken(self.hass, code, taken):
            errors[CONF_USER_CODE] = "code_taken"
        if errors:
            return None, errors
        if code:
            code_hash = await self.hass.async_add_executor_job(CodeHash.create, code)
        else:
            assert current is not None
            code_hash = current.code_hash
        user = User(
            name=name,
            code_hash=code_hash,
            arm_modes=frozenset(AlarmState(mode) for mode in user_input[CONF_USER_ARM_MODES]),
            disarm_modes=frozenset(AlarmState(mode) for mode in user_input[CONF_USER_DISARM_MODES]),
            code_arm_required=bool(user_input[CONF_USER_CODE_ARM_REQUIRED]),
        )
        return user, {}

    def _save_users(self, named: list[User]) -> ConfigFlowResult:
        return self._save_alarm({CONF_ALARM_USERS: [user.to_dict() for user in named]})

    # -- notifications ---------------------------------------------------------------------------

    async def async_step_alarm_notify(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Where the alarm's events go as notifications, and which ones."""
        options = self.config_entry.options
        errors: dict[str, str] = {}
        if user_input is not None:
            targets = [str(target).strip() for target in user_input[CONF_ALARM_NOTIFY_TARGETS]]
            if error := next(filter(None, (_notify_error(self.hass, t) for t in targets)), None):
                errors[CONF_ALARM_NOTIFY_TARGETS] = error
            else:
                return self._save_alarm(
                    {
                        CONF_ALARM_NOTIFY_TARGETS: targets,
                        CONF_ALARM_NOTIFY_EVENTS: list(user_input[CONF_ALARM_NOTIFY_EVENTS]),
                    }
                )
        services = self.hass.services.async_services_for_domain(NOTIFY_DOMAIN)
        targets = sorted(
            {f"{NOTIFY_DOMAIN}.{name}" for name in services if name != SERVICE_SEND_MESSAGE}
            | set(self.hass.states.async_entity_ids(NOTIFY_DOMAIN))
        )
        schema = vol.Schema(
            {
                vol.Required(
                    CONF_ALARM_NOTIFY_TARGETS,
                    default=list(options.get(CONF_ALARM_NOTIFY_TARGETS) or ()),
                ): selector.SelectSelector(
                    selector.SelectSelectorConfig(
                        options=targets,
                        multiple=True,
                        custom_value=True,
                        mode=selector.SelectSelectorMode.DROPDOWN,
                    )
                ),
                vol.Required(
                    CONF_ALARM_NOTIFY_EVENTS,
                    default=list(option(options, CONF_ALARM_NOTIFY_EVENTS)),
                ): selector.SelectSelector(
                    selector.SelectSelectorConfig(
                        options=[str(kind) for kind in EventKind],
                        multiple=True,
                        translation_key="alarm_events",
                        mode=selector.SelectSelectorMode.LIST,
                    )
                ),
            }
        )
        if user_input is not None:
            schema = self.add_suggested_values_to_schema(schema, user_input)
        return self.async_show_form(step_id="alarm_notify", data_schema=schema, errors=errors)


def _sensor_error(hass: HomeAssistant, entity_id: str) -> str | None:
    """The error key for a chosen sensor that is no binary sensor or does not exist."""
    if not valid_entity_id(entity_id) or split_entity_id(entity_id)[0] != Platform.BINARY_SENSOR:
        return "sensor_not_binary"
    # A registered sensor may be missing from the state machine while its integration starts.
    if er.async_get(hass).async_get(entity_id) is None and hass.states.get(entity_id) is None:
        return "sensor_not_found"
    return None


def _notify_error(hass: HomeAssistant, target: str) -> str | None:
    """The error key for a notify target that is neither a notify entity nor a notify action.

    `notify.send_message` itself is no target: it needs a notify entity to send to.
    """
    if not valid_entity_id(target) or split_entity_id(target)[0] != NOTIFY_DOMAIN:
        return "notify_target_invalid"
    name = split_entity_id(target)[1]
    if hass.states.get(target) is not None:
        return None
    if name == SERVICE_SEND_MESSAGE or not hass.services.has_service(NOTIFY_DOMAIN, name):
        return "notify_target_not_found"
    return None


def _mode_list(modes: Iterable[AlarmState]) -> list[str]:
    """Modes in the order the forms list them."""
    chosen = {str(mode) for mode in modes}
    return [mode for mode in MODE_OPTIONS if mode in chosen]
