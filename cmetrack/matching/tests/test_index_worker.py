"""The search index is built by the worker, never in a request (issue 15 item 5).

These tests run the production path: ``CMETRACK_SEARCH_INDEX_BUILD_IN_REQUEST`` off (the
rest of the suite has it on) and the indexes saved as files in a temporary folder, as
every web process of a server maps them."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from pathlib import Path

import pytest
from django.core.management import call_command

from cmetrack.accounts.roles import Role
from cmetrack.accounts.tests.factories import SchoolFactory
from cmetrack.cases.tests.factories import CaseFactory
from cmetrack.kit.testing import assert_problem
from cmetrack.matching import adapters, jobs, services, store
from cmetrack.matching.index import FORMAT_VERSION, CandidateIndex
from cmetrack.matching.model import current_model
from cmetrack.matching.services import SearchNotReady, SearchQuery, search_children
from cmetrack.people.models import Child
from cmetrack.people.tests.factories import ChildFactory
from cmetrack.registers.models import RollEntry, RollSnapshot

pytestmark = pytest.mark.django_db

PREPARING = "Search is being prepared. Try again in a few minutes."


@pytest.fixture
def production(settings, tmp_path, monkeypatch):
    """Searches never build; indexes live in ``tmp_path``; queued tasks are recorded."""
    settings.CMETRACK_SEARCH_INDEX_BUILD_IN_REQUEST = False
    settings.MATCHING_INDEX_DIR = str(tmp_path)
    queued: list[tuple[str, str | None]] = []

    def enqueue(func, *args, task_name=None, **kwargs):
        queued.append((func, task_name))
        return "task-id"

    monkeypatch.setattr("cmetrack.matching.services.enqueue", enqueue)
    monkeypatch.setattr(services, "_last_request", 0.0)
    services.clear_indexes()
    yield {"dir": tmp_path, "queued": queued}
    services.clear_indexes()


def child(given, family, dob, upn=None):
    made = ChildFactory.create(
        legal_given_names=given, legal_family_name=family, dob=dob, sex="F", upn=upn
    )
    CaseFactory.create(child=made)
    return made


def roll(school, taken_on, *pupils):
    snapshot = RollSnapshot.objects.create(school=school, taken_on=taken_on, source="test")
    for i, (given, family, dob) in enumerate(pupils):
        RollEntry.objects.create(
            snapshot=snapshot,
            # 13 characters whatever the ids (PostgreSQL's sequences run past 999).
            upn=f"A8012{school.pk % 1000:03d}{taken_on.month:02d}{i:03d}",
            legal_given_name=given,
            legal_family_name=family,
            dob=dob,
            sex="F",
            postcode="EX1 1AA",
        )
    return snapshot


def search(user, given, family, dob):
    query = SearchQuery(given_names=given, family_name=family, dob=dob)
    return [r.details.name for r in search_children(user=user, query=query)]


def no_reading(monkeypatch):
    """Fail if any register is read to build an index."""

    def refuse(*args, **kwargs):
        raise AssertionError("a register was read to build an index")

    for adapter in adapters.ADAPTERS:
        monkeypatch.setattr(type(adapter), "records", refuse)
        if hasattr(adapter, "records_between"):
            monkeypatch.setattr(type(adapter), "records_between", refuse)


def test_a_search_before_any_index_says_search_is_being_prepared_and_queues_a_build(
    production, client, make_user, monkeypatch
):
    child("Margaret", "Evans", dt.date(2011, 1, 17))
    officer = make_user(Role.CME_OFFICER)
    client.force_login(officer)
    no_reading(monkeypatch)
    form = {"given_names": "Margaret", "family_name": "Evans", "dob_year": "2011"}

    html = client.post("/find-a-child/", form).content.decode()

    assert PREPARING in html
    assert "govuk-notification-banner" in html
    assert "possible match" not in html
    assert production["queued"] == [(services.REFRESH_TASK, "matching-index-refresh")]
    assert not list(Path(production["dir"]).rglob("current.json"))  # nothing was built
    # Asked once: another search (here or in another process) does not queue it again.
    monkeypatch.setattr(services, "_last_request", 0.0)
    assert PREPARING in client.post("/find-a-child/", form).content.decode()
    assert len(production["queued"]) == 1


def test_the_api_answers_503_while_search_is_being_prepared(production, client, make_user):
    from cmetrack.accounts.services import api_token_create
    from cmetrack.audit.services import Actor

    officer = make_user(Role.CME_OFFICER)
    _token, raw = api_token_create(actor=Actor.system("test"), user=officer, name="test")
    response = client.post(
        "/api/v1/children/search",
        {"family_name": "Evans"},
        content_type="application/json",
        headers={"Authorization": f"Bearer {raw}"},
    )
    assert assert_problem(response, 503, "service_unavailable")["detail"] == PREPARING


def test_after_the_worker_refreshes_the_same_search_finds_the_child(
    production, client, make_user, monkeypatch
):
    child("Margaret", "Evans", dt.date(2011, 1, 17))
    officer = make_user(Role.CME_OFFICER)
    with pytest.raises(SearchNotReady):
        search(officer, "Margaret", "Evans", dt.date(2011, 1, 17))

    done = jobs.refresh_indexes()

    assert {d["register"]: d["action"] for d in done} == {a.name: "full" for a in adapters.ADAPTERS}
    assert not (Path(production["dir"]) / store.database_key() / ".refresh-requested").exists()
    # A web process that starts now maps the saved files; it reads no register.
    services.clear_indexes()
    no_reading(monkeypatch)
    client.force_login(officer)
    html = client.post(
        "/find-a-child/", {"given_names": "Maggie", "family_name": "Evans", "dob_year": "2011"}
    ).content.decode()
    assert "Margaret" in html
    assert PREPARING not in html


def test_a_child_added_since_the_index_was_saved_is_found_at_once(production, make_user):
    child("Margaret", "Evans", dt.date(2011, 1, 17))
    officer = make_user(Role.CME_OFFICER)
    jobs.refresh_indexes()
    assert search(officer, "Margaret", "Evans", dt.date(2011, 1, 17)) == ["Margaret Evans"]

    child("Zara", "Quinn", dt.date(2014, 4, 4))

    # Not in the saved index, but searched from the rows above its largest id; a
    # refresh is asked for.
    assert search(officer, "Zara", "Quinn", dt.date(2014, 4, 4)) == ["Zara Quinn"]
    assert production["queued"] == [(services.REFRESH_TASK, "matching-index-refresh")]
    saved = store.current_store().manifest("children")
    assert saved is not None
    assert saved.records == 1


def test_new_children_are_appended_without_reading_the_others(production, make_user, monkeypatch):
    first = child("Margaret", "Evans", dt.date(2011, 1, 17))
    officer = make_user(Role.CME_OFFICER)
    children = adapters.adapter_for("children")
    done = jobs.refresh_indexes()
    assert [d["action"] for d in done if d["register"] == "children"] == ["full"]
    added = child("Zara", "Quinn", dt.date(2014, 4, 4))
    read: list[tuple[int | None, int | None]] = []
    between = adapters.ChildAdapter.records_between

    def records_between(self, after, upto):
        read.append((after, upto))
        return between(self, after, upto)

    monkeypatch.setattr(adapters.ChildAdapter, "records_between", records_between)

    result = jobs.refresh_register(children)

    assert (result.action, result.added, result.records) == ("append", 1, 2)
    assert read == [(first.pk, added.pk)]  # only the rows above the saved index's largest id
    saved = store.current_store().manifest("children")
    assert saved is not None
    assert (saved.build, saved.records, saved.max_pk) == ("append", 2, added.pk)
    services.clear_indexes()
    assert search(officer, "Zara", "Quinn", dt.date(2014, 4, 4)) == ["Zara Quinn"]
    assert search(officer, "Maggie", "Evans", dt.date(2011, 1, 17)) == ["Margaret Evans"]
    assert jobs.refresh_register(children).action == "fresh"


def test_an_appended_index_is_the_index_a_full_build_makes(production):
    for i in range(6):
        child(f"Child{i}", "Evans" if i % 2 else "Quinn", dt.date(2012, 1, 1 + i))
    children = adapters.adapter_for("children")
    jobs.refresh_register(children)
    more = [
        child("Aisha", "Khan", dt.date(2013, 3, 3)),
        child("Aisha", "Evans", dt.date(2013, 3, 4)),
    ]
    assert jobs.refresh_register(children).action == "append"
    model = current_model()
    saved = store.current_store()
    manifest = saved.manifest("children")
    assert manifest is not None
    appended = saved.load(manifest, model)
    full = CandidateIndex(children.records(), model)

    assert list(appended.items) == list(full.items)
    assert appended.items[-1].pk == more[-1].pk
    assert appended.term_frequencies == full.term_frequencies
    assert list(appended._keys) == list(full._keys)
    assert list(appended._key_rows) == list(full._key_rows)


def test_a_deleted_or_changed_child_or_a_new_model_means_a_full_rebuild(production, monkeypatch):
    keep = child("Margaret", "Evans", dt.date(2011, 1, 17))
    gone = ChildFactory.create(legal_given_names="Zara", legal_family_name="Quinn")
    children = adapters.adapter_for("children")
    jobs.refresh_register(children)

    Child.objects.filter(pk=gone.pk).delete()
    assert jobs.refresh_register(children).action == "full"

    keep.legal_family_name = "Hughes"
    keep.save()
    assert jobs.refresh_register(children).action == "full"
    assert jobs.refresh_register(children).action == "fresh"

    current = current_model()
    newer = dataclasses.replace(current, version=current.version + "-retrained")
    monkeypatch.setattr(jobs, "current_model", lambda: newer)
    assert jobs.refresh_register(children).action == "full"
    saved = store.current_store().manifest("children")
    assert saved is not None
    assert saved.model_version == newer.version


def test_a_new_schools_roll_is_appended_and_a_newer_roll_rebuilds(production, make_user):
    oak, elm = SchoolFactory.create(name="Oak"), SchoolFactory.create(name="Elm")
    roll(oak, dt.date(2026, 9, 1), ("Grace", "Brown", dt.date(2012, 2, 11)))
    rolls = adapters.adapter_for("roll")
    assert jobs.refresh_register(rolls).action == "full"

    roll(elm, dt.date(2026, 9, 1), ("Mohammed", "Rahman", dt.date(2013, 10, 12)))
    assert jobs.refresh_register(rolls).action == "append"

    roll(oak, dt.date(2026, 11, 1), ("Grace", "Brown", dt.date(2012, 2, 11)))
    result = jobs.refresh_register(rolls)
    assert (result.action, result.records) == ("full", 2)  # Oak's older roll has left


def test_an_interrupted_build_leaves_the_previous_index_in_use(production, make_user, monkeypatch):
    child("Margaret", "Evans", dt.date(2011, 1, 17))
    officer = make_user(Role.CME_OFFICER)
    jobs.refresh_indexes()
    folder = Path(production["dir"]) / store.database_key() / "children"
    before = json.loads((folder / "current.json").read_text())
    child("Zara", "Quinn", dt.date(2014, 4, 4))
    real_save = CandidateIndex.save

    def save_then_fail(self, path):
        real_save(self, path)
        (path / "keys.arrow").write_bytes(b"half a file")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(CandidateIndex, "save", save_then_fail)
    with pytest.raises(OSError, match="No space left"):
        jobs.refresh_register(adapters.adapter_for("children"), full=True)

    assert json.loads((folder / "current.json").read_text()) == before
    assert not [p for p in folder.iterdir() if p.name.startswith(".")]  # nothing partial
    services.clear_indexes()
    assert search(officer, "Margaret", "Evans", dt.date(2011, 1, 17)) == ["Margaret Evans"]


def test_an_index_of_an_older_format_is_not_used(production, make_user, monkeypatch):
    child("Margaret", "Evans", dt.date(2011, 1, 17))
    officer = make_user(Role.CME_OFFICER)
    jobs.refresh_indexes()
    services.clear_indexes()
    monkeypatch.setattr(store, "FORMAT_VERSION", FORMAT_VERSION + 1)
    with pytest.raises(SearchNotReady) as raised:
        search(officer, "Margaret", "Evans", dt.date(2011, 1, 17))
    assert "children" in raised.value.registers
    assert production["queued"]


def test_index_status_says_what_exists_and_what_is_behind(production):
    status = services.index_status()
    assert status["children"]["exists"] is False
    assert status["children"]["behind"] is True
    child("Margaret", "Evans", dt.date(2011, 1, 17))
    jobs.refresh_indexes()

    status = services.index_status()
    assert set(status) == {a.name for a in adapters.ADAPTERS}
    assert status["children"]["exists"] is True
    assert status["children"]["rows"] == 1
    assert status["children"]["behind"] is False
    assert isinstance(status["children"]["built_at"], dt.datetime)
    child("Zara", "Quinn", dt.date(2014, 4, 4))
    assert services.index_status()["children"]["behind"] is True


def test_the_command_builds_every_index_and_says_how_long(production, capsys):
    child("Margaret", "Evans", dt.date(2011, 1, 17))
    call_command("build_search_index")
    out = capsys.readouterr().out
    assert "children: built in full, 1 rows read, 1 records" in out
    assert "roll: built in full" in out
    call_command("build_search_index")
    assert "children: up to date (1 records)" in capsys.readouterr().out


def test_the_triage_page_never_says_no_duplicate_while_search_is_being_prepared(
    production, client, make_user
):
    from cmetrack.referrals.tests.test_triage import make_referral

    child("Margaret", "Evans", dt.date(2011, 1, 17))
    referral = make_referral(given_names="Margaret", family_name="Evans")
    client.force_login(make_user(Role.CME_OFFICER))
    html = client.get(f"/referrals/{referral.reference}/triage/").content.decode()
    assert "The check for possible duplicates is being prepared" in html
    assert "No possible duplicate found" not in html


def test_the_children_register_reads_each_child_as_record_of_does(production, monkeypatch):
    """The build reads children as plain values in chunks; each record is the one
    ``ChildAdapter.record_of`` makes from the model (aliases, former UPNs, parents, the
    current unrestricted address; a restricted one never)."""
    from cmetrack.people.models import Address, ChildAlias, FormerUpn, ParentCarer

    monkeypatch.setattr(adapters.ChildAdapter, "CHUNK", 2)
    plain = ChildFactory.create(legal_given_names="Ann", legal_family_name="Lee", upn=None)
    full = ChildFactory.create(
        legal_given_names="Margaret",
        legal_middle_names="Rose",
        legal_family_name="Evans",
        dob=dt.date(2011, 1, 17),
        sex="F",
        upn="A801200001235",
    )
    ChildAlias.objects.create(child=full, alias_type="previous_name", family_name="Hughes")
    ChildAlias.objects.create(child=full, alias_type="known_as", given_names="Maggie")
    FormerUpn.objects.create(child=full, upn="B801200001234")
    ParentCarer.objects.create(child=full, given_names="Lisa", family_name="Evans")
    Address.objects.create(
        child=full, line1="1 Old Road", postcode="EX1 1AA", date_from=dt.date(2020, 1, 1)
    )
    Address.objects.create(
        child=full,
        line1="9 Elm Close",
        town="Exeter",
        postcode="EX7 9DD",
        date_from=dt.date(2025, 1, 1),
    )
    Address.objects.create(
        child=full,
        line1="Refuge",
        postcode="EX9 9ZZ",
        is_restricted=True,
        date_from=dt.date(2026, 1, 1),
    )
    third = ChildFactory.create(legal_given_names="Zara", legal_family_name="Quinn")

    read = list(adapters.ChildAdapter().records())

    expected = [
        (adapters.RegisterRef("children", c.pk), adapters.ChildAdapter.record_of(c))
        for c in (plain, full, third)
    ]
    assert read == expected
    record = read[1][1]
    assert record.postcode == "EX7 9DD"
    assert record.address == "9 Elm Close Exeter"
    assert record.aliases == (("", "Hughes"), ("Maggie", ""))


def test_an_index_saved_under_an_older_model_is_searched_while_the_worker_rebuilds(
    production, make_user, monkeypatch
):
    """The saved index does not depend on the model (the scorer is made when a process
    loads it), so a retrained model is used at once; the worker rebuilds all the same."""
    child("Margaret", "Evans", dt.date(2011, 1, 17))
    officer = make_user(Role.CME_OFFICER)
    jobs.refresh_indexes()
    current = current_model()
    newer = dataclasses.replace(current, version=current.version + "-retrained")
    monkeypatch.setattr(services, "current_model", lambda: newer)
    no_reading(monkeypatch)

    assert search(officer, "Margaret", "Evans", dt.date(2011, 1, 17)) == ["Margaret Evans"]
    assert services._loaded["children"].model_version == newer.version
    assert services.index_status()["children"]["behind"] is True


def test_an_index_whose_files_were_removed_is_built_again(production, make_user):
    import shutil

    child("Margaret", "Evans", dt.date(2011, 1, 17))
    officer = make_user(Role.CME_OFFICER)
    jobs.refresh_indexes()
    services.clear_indexes()
    folder = Path(production["dir"]) / store.database_key() / "children"
    for generation in folder.iterdir():
        if generation.is_dir():
            shutil.rmtree(generation)

    with pytest.raises(SearchNotReady):
        search(officer, "Margaret", "Evans", dt.date(2011, 1, 17))
    assert jobs.refresh_register(adapters.adapter_for("children")).action == "full"
    assert search(officer, "Margaret", "Evans", dt.date(2011, 1, 17)) == ["Margaret Evans"]


def test_the_build_goes_on_the_workers_queue(production, make_user, monkeypatch):
    """Through the real queue (django-q2's ORM broker): one task, named, for the worker."""
    from django_q.models import OrmQ  # type: ignore[import-untyped]

    monkeypatch.undo()  # the real enqueue
    monkeypatch.setattr(services, "_last_request", 0.0)
    officer = make_user(Role.CME_OFFICER)
    with pytest.raises(SearchNotReady):
        search(officer, "Margaret", "Evans", dt.date(2011, 1, 17))

    queued = [q.task for q in OrmQ.objects.all()]
    assert [(t["func"], t["name"]) for t in queued] == [
        (services.REFRESH_TASK, "matching-index-refresh")
    ]
