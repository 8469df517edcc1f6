"""One way of drawing charts: a figure over time on the Ask OptiQ page and a training job's
loss curve are drawn by the same module (assistant/static/optiq/charts.js)."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from assistant.models import AssistantMessage, AssistantThread
from assistant.tools.toolset import plain
from practice import roles, selectors
from tests.browser.conftest import staff
from tests.browser.test_ask_page import ASK_URL, finished, last_answer


def test_a_figure_over_time_is_drawn_as_a_chart_with_its_table(open_page, practice_data, screenshot):
    manager = staff(roles.MANAGER, "manager-g")
    today = timezone.localdate()
    start = (today.replace(day=1) - dt.timedelta(days=95)).replace(day=1)
    rows = plain(selectors.sales_summary(start=start, end=today, group_by="month"))
    thread = AssistantThread.objects.create(user=manager, title="Revenue by month")
    AssistantMessage.objects.create(thread=thread, role="user", kind="question", content="Revenue by month?")
    AssistantMessage.objects.create(
        thread=thread,
        role="assistant",
        kind="data",
        content="Revenue by month since the start of the quarter.",
        sources=[
            {
                "kind": "tool_result",
                "id": "sales_summary",
                "title": "Sales by month",
                "snippet": "",
                "score": 1.0,
                "arguments": {"group_by": "month"},
                "data": {"rows": rows},
            }
        ],
        tool_calls=[{"name": "sales_summary", "arguments": {"group_by": "month"}}],
    )
    for dark in (False, True):
        page = open_page(manager, dark=dark)
        page.goto(f"{ASK_URL}?thread={thread.pk}")
        answer = last_answer(page)
        finished(answer)
        chart = answer.locator(".ask-chart")
        assert chart.get_attribute("data-column") == "revenue"
        assert chart.locator("svg circle").count() == len(rows) >= 4
        november = next(r for r in rows if r["units"])
        tooltips = chart.locator("svg circle title").all_text_contents()
        assert f"Revenue, {november['month']}: £{round(float(november['revenue'])):,}" in tooltips
        table_rows = answer.locator(".ask-figure tbody tr")
        assert table_rows.count() == len(rows)
        assert november["month"] in table_rows.all_inner_texts()[[r["month"] for r in rows].index(november["month"])]
        screenshot(page, f"manager-chart-{'dark' if dark else 'light'}")


def test_the_training_job_page_draws_its_loss_curve_with_the_same_module(open_page, db, screenshot):
    from training_jobs.models import TrainingJob

    job = TrainingJob.objects.create(
        name="loss curve",
        status="succeeded",
        step=40,
        total_steps=40,
        train_loss=[[step, 3.5 - step * 0.02] for step in range(1, 41)],
        eval_loss=[[20, 3.1], [40, 2.8]],
    )
    page = open_page(staff(roles.ML_ADMIN, "mladmin-g"))
    page.goto(f"/admin/training_jobs/trainingjob/{job.pk}/change/")
    chart = page.locator("#tj-chart")
    chart.locator("polyline").first.wait_for(state="attached")
    assert chart.get_attribute("class") == "optiq-chart"
    points = chart.locator("polyline").first.get_attribute("points").split()
    assert len(points) == 40
    assert chart.locator("circle").count() == 2
    assert "eval loss, 40: 2.80" in chart.locator("circle title").all_text_contents()
    screenshot(page, "mladmin-training-loss-chart")
