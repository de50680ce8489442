"""PowerShell's parameter binder, as the Exchange admin API runs it for each cmdlet.

A cmdlet declares its syntax the way Microsoft's cmdlet reference prints it (learn.microsoft.com,
``powershell/module/exchange/<cmdlet>``): one line per parameter set, each parameter with its type, a ``!``
for a mandatory one::

    Identity: Identity:MailboxIdParameter ResultSize:Unlimited RecipientTypeDetails:RecipientTypeDetails[]
    AnrSet:   Anr:String ResultSize:Unlimited

A set called ``*`` holds the parameters every set has. Binding then refuses what the real binder refuses,
with its own words (``System.Management.Automation.ParameterBindingException``):

- a name no set has: ``A parameter cannot be found that matches parameter name 'X'.`` (NamedParameterNotFound);
- names that no single set holds together: ``Parameter set cannot be resolved using the specified named
  parameters.`` (AmbiguousParameterSet);
- a mandatory parameter of the resolved set left out (MissingMandatoryParameter);
- a value its type cannot take (Boolean / switch, Int32, Unlimited, an enumeration).

Parameters the reference lists but the practice tenant does not implement are declared as ``unserved``: they
are answered "not served" (501), never "cannot be found", so the emulator never calls a real parameter wrong.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

JSON = dict[str, Any]

#: PowerShell's common parameters (and -Confirm / -WhatIf): accepted by every cmdlet.
COMMON_PARAMETERS: tuple[str, ...] = (
    "Confirm", "Debug", "ErrorAction", "ErrorVariable", "InformationAction", "InformationVariable",
    "OutBuffer", "OutVariable", "PipelineVariable", "ProgressAction", "Verbose", "WarningAction",
    "WarningVariable", "WhatIf",
)

BINDING_EXCEPTION = "System.Management.Automation.ParameterBindingException"


class BindingError(Exception):
    """The binder's refusal: the text PowerShell writes."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.text = text


class NotServed(Exception):
    """A parameter Exchange has and the practice tenant does not implement."""

    def __init__(self, cmdlet: str, parameter: str, reference: str) -> None:
        super().__init__(f"{cmdlet} -{parameter}")
        self.text = (f"The practice tenant does not serve the parameter '{parameter}' of {cmdlet} (it is a real "
                     f"parameter: {reference}).")


@dataclass(frozen=True)
class Param:
    name: str
    #: the reference's type: String, SwitchParameter, Boolean, Int32, Unlimited, an *IdParameter, a [] list,
    #: or an enumeration written ``Enum(A|B|C)``
    type: str
    #: the parameter sets it belongs to
    sets: frozenset[str]
    #: the sets in which it is mandatory
    mandatory: frozenset[str]


@dataclass(frozen=True)
class Syntax:
    params: dict[str, Param]  # lower-case name -> parameter
    sets: tuple[str, ...]
    default: str

    @classmethod
    def parse(cls, text: str, default: str | None = None) -> Syntax:
        by_set: dict[str, list[tuple[str, str, bool]]] = {}
        entries: list[tuple[str, str, bool]] = []
        for line in text.strip().splitlines():
            label = _SET_LABEL.match(line)
            if label is not None:  # "Name: ..." starts a set; other lines continue the one before
                entries = by_set.setdefault(label.group(1), [])
                line = line[label.end():]
            for token in line.split():
                mandatory = token.startswith("!")
                name, _, typ = token.lstrip("!").partition(":")
                entries.append((name, typ or "String", mandatory))
        common = by_set.pop("*", [])
        sets = tuple(by_set) or ("Default",)
        if not by_set:
            by_set["Default"] = []
        params: dict[str, Param] = {}
        for set_name, entries in by_set.items():
            for name, typ, mandatory in [*entries, *common]:
                old = params.get(name.lower())
                params[name.lower()] = Param(
                    name, typ, (old.sets if old else frozenset()) | {set_name},
                    (old.mandatory if old else frozenset()) | ({set_name} if mandatory else frozenset()))
        return cls(params, sets, default or sets[0])

    def names(self) -> list[str]:
        return [p.name for p in self.params.values()]


_COMMON = {p.lower(): p for p in COMMON_PARAMETERS}
_SET_LABEL = re.compile(r"^\s*([\w*]+):(?:\s|$)")

#: The enumerations parameters take, by the type name the reference gives them.
ENUMS: dict[str, tuple[str, ...]] = {
    "MailboxRights": ("ChangeOwner", "ChangePermission", "DeleteItem", "ExternalAccount", "FullAccess",
                      "ReadPermission"),
    "RecipientAccessRight": ("SendAs",),
    "ActiveDirectorySecurityInheritance": ("None", "All", "Descendents", "SelfAndChildren", "Children"),
    "RecipientTypeDetails": ("UserMailbox", "SharedMailbox", "RoomMailbox", "EquipmentMailbox", "SchedulingMailbox",
                             "DiscoveryMailbox", "GroupMailbox", "LinkedMailbox", "TeamMailbox", "MailUser",
                             "GuestMailUser", "MailContact", "User"),
    "RuleState": ("Enabled", "Disabled"),
}


def bind(cmdlet: str, syntax: Syntax, given: JSON, *, unserved: dict[str, str], reference: str) -> JSON:
    """The bound parameters by their canonical names, or ``BindingError`` / ``NotServed``."""
    values: JSON = {}
    chosen: list[Param] = []
    for key, value in given.items():
        lower = str(key).lower()
        param = syntax.params.get(lower)
        if param is None:
            if lower in _COMMON:
                values[_COMMON[lower]] = value
                continue
            if lower in unserved:
                raise NotServed(cmdlet, unserved[lower], reference)
            raise BindingError(f"A parameter cannot be found that matches parameter name '{key}'.")
        values[param.name] = value
        chosen.append(param)
    parameter_set = _resolve(syntax, chosen)
    missing = [p.name for p in syntax.params.values()
               if parameter_set in p.mandatory and values.get(p.name) in (None, "", [])]
    if missing:
        raise BindingError("Cannot process command because of one or more missing mandatory parameters: "
                           + " ".join(missing) + ".")
    for param in chosen:
        values[param.name] = convert(param, values[param.name])
    return values


def _resolve(syntax: Syntax, chosen: list[Param]) -> str:
    candidates = [s for s in syntax.sets if all(s in p.sets for p in chosen)]
    if not candidates:
        raise BindingError("Parameter set cannot be resolved using the specified named parameters. One or more "
                           "parameters issued cannot be used together or an insufficient number of parameters "
                           "were provided.")
    if len(candidates) == 1:
        return candidates[0]
    if syntax.default in candidates:
        return syntax.default
    # Several sets fit and none is the default: PowerShell takes the one whose mandatory parameters are all given.
    given = {p.name for p in chosen}
    complete = [s for s in candidates if all(p.name in given for p in syntax.params.values() if s in p.mandatory)]
    if len(complete) == 1:
        return complete[0]
    raise BindingError("Parameter set cannot be resolved using the specified named parameters.")


_ENUM = re.compile(r"Enum\((.*)\)(\[\])?")


def convert(param: Param, value: Any) -> Any:
    """Check (and, for switches and numbers, convert) a value against the parameter's type."""
    typ = param.type
    if value is None or typ == "Any":
        return value
    if typ in ("SwitchParameter", "Boolean"):
        return to_bool(param.name, value)
    if typ == "Int32":
        if isinstance(value, bool) or not _is_int(value):
            raise BindingError(f"Cannot bind parameter '{param.name}'. Cannot convert value \"{value}\" to type "
                               "\"System.Int32\". Error: \"Input string was not in a correct format.\"")
        return int(value)
    if typ == "Unlimited":
        if isinstance(value, str) and value.strip().lower() == "unlimited":
            return value
        if isinstance(value, bool) or not _is_int(value) or int(value) < 1:
            raise BindingError(f"Cannot bind parameter '{param.name}' to the target. Exception setting "
                               f"\"{param.name}\": \"The value '{value}' is not valid: use a positive number or "
                               "Unlimited.\"")
        return value
    enum = _ENUM.fullmatch(typ)
    base, many = typ.removesuffix("[]"), typ.endswith("[]")
    if enum is not None or base in ENUMS:
        members = list(ENUMS[base]) if enum is None else enum.group(1).split("|")
        many = many if enum is None else bool(enum.group(2))
        items = value if isinstance(value, list) else str(value).split(",") if many else [value]
        canonical = {m.lower(): m for m in members}
        out = []
        for item in items:
            text = str(item).strip()
            if text.lower() not in canonical:
                raise BindingError(
                    f"Cannot bind parameter '{param.name}'. Cannot convert value \"{text}\" to type "
                    f"\"{_dotnet(base)}\". Error: \"Unable to match the identifier name {text} to a valid enumerator "
                    f"name. Specify one of the following enumerator names and try again: {', '.join(members)}\"")
            out.append(canonical[text.lower()])
        return out if many else out[0]
    if typ.endswith("[]") or typ == "MultiValuedProperty":
        if isinstance(value, dict):
            raise BindingError(f"Cannot bind parameter '{param.name}'. Cannot convert the value to a list.")
        return value
    # String and identity parameters: text, or a serialised identity object ({"Value": ...})
    if isinstance(value, list | bool) or (isinstance(value, dict) and not value):
        raise BindingError(f"Cannot bind parameter '{param.name}'. Cannot convert value \"{value}\" to type "
                           f"\"{_dotnet(typ)}\".")
    return value


def _dotnet(typ: str) -> str:
    """The .NET type name PowerShell's messages give."""
    if typ == "String":
        return "System.String"
    if typ in ("MailboxRights", "RecipientAccessRight"):
        return f"Microsoft.Exchange.Management.RecipientTasks.{typ}"
    if typ == "ActiveDirectorySecurityInheritance":
        return "System.DirectoryServices.ActiveDirectorySecurityInheritance"
    return f"Microsoft.Exchange.Configuration.Tasks.{typ}"


def _is_int(value: Any) -> bool:
    if isinstance(value, int):
        return True
    return isinstance(value, str) and re.fullmatch(r"\s*[+-]?\d+\s*", value) is not None


def to_bool(name: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in ("true", "$true", "1", "false", "$false", "0"):
        return value.strip().lower() in ("true", "$true", "1")
    raise BindingError(
        f"Cannot process argument transformation on parameter '{name}'. Cannot convert value \"{value}\" to type "
        "\"System.Boolean\". Boolean parameters accept only Boolean values and numbers, such as $True, $False, "
        "1 or 0.")

