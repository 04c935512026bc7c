"""Hypothesis strategies for JSON values, JSON Schemas, tools, calls and results."""

from hypothesis import strategies as st

TYPES = ["string", "number", "integer", "boolean", "null", "array", "object"]

text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=40)
names = st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=24)
identifiers = st.from_regex(r"[A-Za-z_][A-Za-z0-9_.\-]{0,30}", fullmatch=True)
numbers = st.integers(-(10**12), 10**12) | st.floats(allow_nan=False, allow_infinity=False)
scalars = st.none() | st.booleans() | numbers | text
json_values = st.recursive(
    scalars,
    lambda c: st.lists(c, max_size=3) | st.dictionaries(text, c, max_size=3),
    max_leaves=8,
)
json_objects = st.dictionaries(text, json_values, max_size=4)


def _annotated(base, keys):
    return st.fixed_dictionaries(base, optional=keys)


ANNOTATIONS = {
    "description": text,
    "default": json_values,
    "enum": st.lists(json_values, max_size=4),
    "title": text,
    "minimum": numbers,
    "format": st.sampled_from(["date-time", "email", "uri"]),
}


def schemas(max_leaves=10):
    leaf = st.one_of(
        _annotated({"type": st.sampled_from(TYPES)}, ANNOTATIONS),
        _annotated(
            {"type": st.lists(st.sampled_from(TYPES), min_size=1, max_size=3, unique=True)},
            ANNOTATIONS,
        ),
        _annotated({}, ANNOTATIONS),
        st.just({"type": "strange"}),
        st.just({"type": []}),
    )

    def extend(children):
        props = st.dictionaries(names | st.just(""), children, max_size=4)
        return st.one_of(
            _annotated(
                {"type": st.just("object"), "properties": props},
                {
                    **ANNOTATIONS,
                    "required": st.lists(names, max_size=3),
                    "additionalProperties": st.booleans(),
                },
            ),
            _annotated({"type": st.just("object"), "properties": props}, {"required": st.just([])}),
            _annotated({"type": st.just("array")}, {**ANNOTATIONS, "items": children}),
            _annotated({"type": st.just(["array", "null"]), "items": children}, ANNOTATIONS),
            _annotated({"anyOf": st.lists(children, min_size=1, max_size=3)}, ANNOTATIONS),
            _annotated({"properties": props}, ANNOTATIONS),  # no type: kept verbatim
        )

    return st.recursive(leaf, extend, max_leaves=max_leaves)


def object_schemas():
    props = st.dictionaries(names, schemas(6), max_size=5)
    return _annotated(
        {"type": st.just("object"), "properties": props},
        {
            "required": st.lists(names, max_size=3),
            "title": text,
            "$schema": text,
            "description": text,
        },
    )


tool_descriptions = st.none() | st.text(
    st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=60
)
parameters = st.one_of(object_schemas(), object_schemas(), st.none(), schemas(4))
calls_args = st.dictionaries(text, json_values, max_size=5)
