"""fides.store.db.in_utf8: every URL fides connects with asks for UTF8, replacing any other."""

from __future__ import annotations

from fides.store.db import in_utf8


def test_a_url_gets_client_encoding_utf8_and_keeps_its_other_parameters():
    assert in_utf8("postgresql://u@h:5432/fides") == "postgresql://u@h:5432/fides?client_encoding=UTF8"
    assert (in_utf8("postgresql://u:@/fides?host=/tmp/pg&sslmode=disable")
            == "postgresql://u:@/fides?host=/tmp/pg&sslmode=disable&client_encoding=UTF8")
    assert (in_utf8("postgresql:///fides?client_encoding=LATIN1&host=/run")
            == "postgresql:///fides?host=/run&client_encoding=UTF8")
    assert in_utf8(in_utf8("postgresql:///f")) == "postgresql:///f?client_encoding=UTF8"
    assert in_utf8("host=/run dbname=f client_encoding=LATIN1") == "dbname=f host=/run client_encoding=UTF8"
