"""batch_results: a batch answer's result.list and retExtInfo.list paired per order sent."""

import pytest

from shared.bybit.wire_more import BatchItemIds, BatchItemResult, BatchStatus, batch_results


def test_each_order_gets_its_ids_code_and_message_in_the_order_sent() -> None:
    ids = [BatchItemIds(order_id="1", order_link_id="a"), BatchItemIds()]
    statuses = [BatchStatus(code=0, msg="OK"), BatchStatus(code=110072, msg="duplicate")]

    results = batch_results(["a", "b"], ids, statuses)

    assert results == [
        BatchItemResult(order_link_id="a", order_id="1", code=0, message="OK"),
        BatchItemResult(order_link_id="b", order_id="", code=110072, message="duplicate"),
    ]
    assert [r.ok for r in results] == [True, False]


@pytest.mark.parametrize(("n_ids", "n_statuses"), [(1, 2), (2, 1), (3, 3)])
def test_lists_that_do_not_hold_one_entry_per_order_are_refused(
    n_ids: int, n_statuses: int
) -> None:
    with pytest.raises(ValueError, match="2 orders sent"):
        batch_results(
            ["a", "b"],
            [BatchItemIds()] * n_ids,
            [BatchStatus(code=0, msg="OK")] * n_statuses,
        )
