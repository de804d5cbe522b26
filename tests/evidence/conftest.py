import pytest

from tests.officers import make_triage_officer, team_with_submission


@pytest.fixture
def north(db):
    return team_with_submission("North team", "101", account="North account: a red car sped off.")


@pytest.fixture
def south(db):
    return team_with_submission("South team", "202", account="South account: a man in a blue coat.")


@pytest.fixture
def supervisor(db):
    return make_triage_officer("supervisor", supervisor=True)
