"""Every Firestore query of the code that needs a composite index has it declared in Terraform: the store's
declared queries (leadengine.store.COMPOSITE_QUERIES, which its listing builds its queries from), and any query
written out in leadengine/store.py whose equality filters come with an order or range on another field. Real
Firestore refuses such a query without its index (FAILED_PRECONDITION); the local emulator does not, so only this
test can catch a missing one before production does."""

from __future__ import annotations

import ast
from pathlib import Path

from leadengine import store
from tests.infra import terraform_config as tf

STORE = Path(store.__file__)
EQUALITY_OPS = {"==", "in", "array_contains", "array-contains"}


def _index_fields(module: tf.Module, index: dict) -> list[list[tuple[str, str]]]:
    """The field lists an index resource declares: literal `fields` blocks, or one list per entry of the local its
    `for_each` goes over (with a `dynamic "fields"` block reading `[field_path, order]` pairs)."""
    if "fields" in index:
        return [[(f["field_path"], f["order"]) for f in index["fields"]]]
    local = index["for_each"].removeprefix("${local.").removesuffix("}")
    (dynamic,) = [block["fields"] for block in index["dynamic"]]
    (content,) = dynamic["content"]
    assert (dynamic["for_each"], content) == ("${each.value}", {"field_path": "${fields.value[0]}",
                                                                "order": "${fields.value[1]}"}), index  # fmt: skip
    return [[(name, order) for name, order in pairs] for pairs in module.locals[local].values()]


def declared_indexes() -> set[tuple[str, frozenset[str], tuple[str, str]]]:
    """(collection, equality fields, (ordered field, direction)) of each google_firestore_index in Terraform."""
    indexes = set()
    for path in sorted({p.parent for p in tf.tf_files()}):
        module = tf.module(path)
        for index in module.resources.get("google_firestore_index", {}).values():
            assert index.get("query_scope", "COLLECTION") == "COLLECTION", index
            for fields in _index_fields(module, index):
                *prefix, last = fields
                assert all(order == "ASCENDING" for _, order in prefix), index  # equality fields: any direction serves
                indexes.add((index["collection"], frozenset(name for name, _ in prefix), last))
    return indexes


def test_the_index_declarations_are_read_at_all() -> None:
    """Guards the tests below: an index file the parser missed would make every query look unindexed, and a
    rewrite of the declarations that this file no longer understands must fail here, not pass vacuously."""
    assert len(declared_indexes()) >= len(store.COMPOSITE_QUERIES)


def _literal(node: ast.AST) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.Name) and isinstance(getattr(store, node.id, None), str):
        return str(getattr(store, node.id))  # a module constant such as JOBS
    return None


def written_out_queries(source: str | None = None) -> dict[str, tuple[str, frozenset[str], tuple[str, str]]]:
    """The composite queries spelled out with literal field names in store.py (or `source`), by the method that
    makes them."""
    found = {}
    for function in ast.walk(ast.parse(source if source is not None else STORE.read_text())):
        if not isinstance(function, ast.FunctionDef):
            continue
        equals: set[str] = set()
        ordered: dict[str, str] = {}
        collection = None
        for node in ast.walk(function):
            if not isinstance(node, ast.Call):
                continue
            name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
            args = [_literal(arg) for arg in node.args]
            if name == "FieldFilter" and len(args) >= 2 and args[0] and args[1]:
                if args[1] in EQUALITY_OPS:
                    equals.add(args[0])
                else:
                    ordered.setdefault(args[0], "ASCENDING")
            elif name == "order_by" and args and args[0]:
                direction = next((_literal(k.value) for k in node.keywords if k.arg == "direction"), "ASCENDING")
                ordered[args[0]] = direction or "ASCENDING"
            elif name == "collection" and args and args[0]:
                collection = args[0]
            elif name == "_leads_ref":
                collection = store.LEADS
        others = {field: d for field, d in ordered.items() if field not in equals}
        if equals and others:
            assert len(others) == 1, f"{function.name}: ranges or orders on several fields: {others}"
            assert collection is not None, f"{function.name}: which collection does it query?"
            (field, direction), *_ = others.items()
            found[function.name] = (collection, frozenset(equals), (field, direction))
    return found


def test_every_declared_composite_query_has_its_index_in_terraform() -> None:
    indexes = declared_indexes()
    assert store.COMPOSITE_QUERIES
    for query in store.COMPOSITE_QUERIES:
        wanted = (query.collection, frozenset(query.equals), (query.order_by, query.direction))
        assert wanted in indexes, f"no google_firestore_index for {query}: add one to infra/terraform"


def test_every_composite_query_written_out_in_the_store_has_its_index_in_terraform() -> None:
    indexes = declared_indexes()
    for method, wanted in written_out_queries().items():
        assert wanted in indexes, f"JobStore.{method} queries {wanted}: declare its google_firestore_index"


def test_the_scan_finds_a_composite_query_and_ignores_single_field_ones() -> None:
    """The scan itself: the outbox query (one field) needs no index; a user's query ordered by another field does."""
    queries = written_out_queries()
    assert "unpublished_jobs" not in queries and "list_leads" not in queries
    sample = (
        "def f(self):\n"
        "    q = self.client.collection(JOBS).where(filter=FieldFilter('user_id', '==', u))\n"
        "    return q.where(filter=FieldFilter('held_at', '>=', t)).order_by('held_at')\n"
    )
    assert written_out_queries(sample) == {"f": ("jobs", frozenset({"user_id"}), ("held_at", "ASCENDING"))}
