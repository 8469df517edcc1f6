"""One way of drawing charts: a figure over time on the Ask OptiQ page and a training job's
loss curve are drawn by the same module (assistant/static/optiq/charts.js)."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from assistant.models import AssistantThread
from assistant.tools.toolset import plain
from practice import roles, selectors
from tests.browser.conftest import staff
from tests.browser.test_ask_page import ASK_URL, ask, finished, last_answer


def test_a_figure_over_time_is_drawn_as_a_chart_with_its_table(open_page, practice_data, screenshot):
    manager = staff(roles.MANAGER, "manager-g")
    today = timezone.localdate()
    end = today.replace(day=1) - dt.timedelta(days=1)
    # The truth for last month, from the practice's report selector (not the assistant's query).
    (last_month,) = plain(selectors.sales_summary(start=end.replace(day=1), end=end, group_by="month"))
    revenue = f"£{float(last_month['revenue']):,.2f}"
    page = open_page(manager)
    page.goto(ASK_URL)
    ask(page, "What was our revenue by month over the last 12 months?")
    finished(last_answer(page))
    thread = AssistantThread.objects.get(user=manager)
    for dark in (False, True):
        page = open_page(manager, dark=dark)
        page.goto(f"{ASK_URL}?thread={thread.pk}")  # as stored
        answer = last_answer(page)
        finished(answer)
        chart = answer.locator(".ask-chart")
        assert chart.get_attribute("data-column") == "revenue"
        table_rows = answer.locator(".ask-figure tbody tr")
        assert chart.locator("svg circle").count() == table_rows.count() >= 12
        tooltips = chart.locator("svg circle title").all_text_contents()
        assert f"Revenue, {end:%Y-%m}: £{round(float(last_month['revenue'])):,}" in tooltips
        (row,) = [r for r in table_rows.all_inner_texts() if r.startswith(f"{end:%B %Y}")]
        assert revenue in row
        headers = answer.locator(".ask-figure thead th").all_inner_texts()
        assert headers[0].lower() == "month" and "Value" not in headers
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
