import pytest
from django.db import connections

@pytest.fixture(scope="session", autouse=True)
def _diag_end(django_db_setup, django_db_blocker):
    yield
    import time, threading
    time.sleep(6)
    with django_db_blocker.unblock():
        with connections["default"].cursor() as c:
            c.execute("select pid, client_port, state, left(query, 100), backend_start from pg_stat_activity where datname = current_database() and pid <> pg_backend_pid()")
            for row in c.fetchall():
                print("PGEND", row)
    print("THREADS-END", [(t.name, type(t).__module__) for t in threading.enumerate()])

def test_noop():
    pass
