"""Where a model's parameters are: counts per named part, and the table of them.

A chapter names the parts of a model as the paper does ("backbone", "encoder",
"3D deformable attention"...) and lists, for each, the submodules or parameter tensors
it holds. :func:`parameter_breakdown` counts each part's trainable parameters and
checks the naming: no tensor may sit in two parts, and every trainable tensor must sit
in one (or in the ``rest`` part, when the chapter names one), so the counts always add
up to the model's total. Shared tensors are counted once, as ``model.parameters()`` does.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

from torch import nn

from .tables import Table

# a part: a module, a parameter tensor, None (absent: counts 0), or an iterable of these
Part = nn.Module | nn.Parameter | None | Iterable


def _tensors(part) -> list[nn.Parameter]:
    if part is None:
        return []
    if isinstance(part, nn.Module):
        return list(part.parameters())
    if isinstance(part, nn.Parameter):
        return [part]
    if isinstance(part, Iterable) and not isinstance(part, (str, bytes)):
        return [tensor for item in part for tensor in _tensors(item)]
    raise TypeError(f"a part is a module, a parameter, None or an iterable of them; got {type(part).__name__}")


def parameter_breakdown(model: nn.Module, parts: Mapping[str, Part], rest: str | None = None) -> dict[str, int]:
    """Trainable parameters of ``model`` per part, in the order of ``parts`` (part name ->
    modules and/or parameter tensors), then ``rest`` (everything not listed) if given.

    Raises ValueError when a tensor is listed in two parts, when a part holds a tensor
    that is not the model's, or, without ``rest``, when a trainable tensor is in no part.
    """
    names = {id(p): name for name, p in model.named_parameters()}  # one name per tensor, shared ones once
    trainable = {id(p): p for p in model.parameters() if p.requires_grad}
    owner: dict[int, str] = {}
    counts: dict[str, int] = {}
    for part, members in parts.items():
        if part == rest:
            raise ValueError(f"part {part!r} is also the name of the rest")
        counts[part] = 0
        for tensor in _tensors(members):
            key = id(tensor)
            if key not in names:
                raise ValueError(f"part {part!r} holds a tensor of shape {tuple(tensor.shape)} that is not the model's")
            if key in owner:
                if owner[key] == part:  # listed twice within one part (e.g. a module and its parent): count once
                    continue
                raise ValueError(f"parameter {names[key]!r} is in two parts: {owner[key]!r} and {part!r}")
            owner[key] = part
            if key in trainable:
                counts[part] += tensor.numel()
    unlisted = [key for key in trainable if key not in owner]
    if rest is not None:
        counts[rest] = sum(trainable[key].numel() for key in unlisted)
    elif unlisted:
        shown = ", ".join(names[key] for key in unlisted[:6]) + (", ..." if len(unlisted) > 6 else "")
        raise ValueError(f"{len(unlisted)} trainable parameters are in no part ({shown}); list them or name a rest")
    return counts


def parameter_table(
    models: Mapping[str, nn.Module],
    parts: Callable[[nn.Module], Mapping[str, Part]],
    rest: str | None = None,
    shares: bool = True,
    first_column: str = "part",
    caption: str = "",
) -> Table:
    """Per part (rows), the parameters of each model (columns, e.g. "reduced" and "full"),
    with each part's share of that model's total if ``shares``, and a total row.

    ``parts(model)`` names the parts of one model (see :func:`parameter_breakdown`); it
    must give the same part names for every model. ``data`` holds model -> breakdown.
    """
    if not models:
        raise ValueError("parameter_table: no models")
    breakdowns = {label: parameter_breakdown(model, parts(model), rest) for label, model in models.items()}
    order = list(next(iter(breakdowns.values())))
    for label, breakdown in breakdowns.items():
        if list(breakdown) != order:
            raise ValueError(f"model {label!r} has parts {list(breakdown)}, the first model {order}")
    totals = {label: sum(breakdown.values()) for label, breakdown in breakdowns.items()}
    columns, align = [first_column], ["left"]
    for label in models:
        columns += [label, "share"] if shares else [label]
        align += ["right", "right"] if shares else ["right"]
    rows = []
    for part in order:
        row = [part]
        for label, breakdown in breakdowns.items():
            count = breakdown[part]
            row.append(f"{count:,}")
            if shares:
                row.append(f"{count / totals[label]:.1%}" if totals[label] else "-")
        rows.append(row)
    total_row = ["**total**"]
    for label in models:
        total_row += [f"**{totals[label]:,}**", ""] if shares else [f"**{totals[label]:,}**"]
    rows.append(total_row)
    return Table(columns, rows, caption=caption, align=align, data=breakdowns)
