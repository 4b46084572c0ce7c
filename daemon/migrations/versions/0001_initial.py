"""Initial schema: every table of the store.

Revision ID: 0001
Revises:
Create Date: 2026-11-27

Written out in plain SQLAlchemy types (no model imports), so later model changes never
change what this revision creates.
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _id() -> sa.types.TypeEngine:
    return sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _json() -> sa.types.TypeEngine:
    return sa.JSON(none_as_null=True).with_variant(
        postgresql.JSONB(none_as_null=True, astext_type=sa.Text()), "postgresql")


def _when() -> sa.types.TypeEngine:
    return sa.DateTime(timezone=True)


def _lead_fk(table: str, ondelete: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(["lead_pk"], ["leads.id"], name=op.f(f"fk_{table}_lead_pk_leads"),
                                   ondelete=ondelete)


def upgrade() -> None:
    """Create every table."""
    op.create_table(
        "agents",
        sa.Column("agent_id", sa.String(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("email", sa.String(), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("states", _json(), nullable=False),
        sa.Column("licenses", _json(), nullable=False),
        sa.Column("specialties", _json(), nullable=False),
        sa.Column("optimal_capacity", sa.Integer(), nullable=False),
        sa.Column("max_capacity", sa.Integer(), nullable=False),
        sa.Column("timezone", sa.String(), nullable=False),
        sa.Column("schedule", _json(), nullable=False),
        sa.Column("crm_user_ids", _json(), nullable=False),
        sa.Column("updated_at", _when(), nullable=False),
        sa.PrimaryKeyConstraint("agent_id", name=op.f("pk_agents")),
    )
    op.create_table(
        "job_runs",
        sa.Column("id", _id(), nullable=False),
        sa.Column("job", sa.String(), nullable=False),
        sa.Column("started_at", _when(), nullable=False),
        sa.Column("finished_at", _when(), nullable=True),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("message", sa.String(), nullable=True),
        sa.Column("instance", sa.String(), nullable=True),
        sa.CheckConstraint("status IN ('running', 'ok', 'failed', 'skipped')", name=op.f("ck_job_runs_status_valid")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_job_runs")),
    )
    op.create_index("ix_job_runs_job_started_at", "job_runs", ["job", "started_at"])

    op.create_table(
        "kpi_snapshots",
        sa.Column("id", _id(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("period_start", _when(), nullable=False),
        sa.Column("period_end", _when(), nullable=False),
        sa.Column("metrics", _json(), nullable=False),
        sa.Column("created_at", _when(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_kpi_snapshots")),
        sa.UniqueConstraint("name", "period_start", "period_end",
                            name=op.f("uq_kpi_snapshots_name_period_start_period_end")),
    )
    op.create_table(
        "leads",
        sa.Column("id", _id(), nullable=False),
        sa.Column("connector", sa.String(), nullable=False),
        sa.Column("lead_id", sa.String(), nullable=True),
        sa.Column("crm_id", sa.String(), nullable=False),
        sa.Column("source", sa.String(), nullable=True),
        sa.Column("created_at", _when(), nullable=True),
        sa.Column("updated_at", _when(), nullable=True),
        sa.Column("first_name", sa.String(), nullable=True),
        sa.Column("last_name", sa.String(), nullable=True),
        sa.Column("email", sa.String(), nullable=True),
        sa.Column("phone", sa.String(), nullable=True),
        sa.Column("state", sa.String(), nullable=True),
        sa.Column("zip_code", sa.String(), nullable=True),
        sa.Column("loan_amount", sa.Float(), nullable=True),
        sa.Column("loan_purpose", sa.String(), nullable=True),
        sa.Column("loan_type", sa.String(), nullable=True),
        sa.Column("property_type", sa.String(), nullable=True),
        sa.Column("property_value", sa.Float(), nullable=True),
        sa.Column("down_payment", sa.Float(), nullable=True),
        sa.Column("timeline", sa.String(), nullable=True),
        sa.Column("annual_income", sa.Float(), nullable=True),
        sa.Column("monthly_debt", sa.Float(), nullable=True),
        sa.Column("credit_score", sa.Integer(), nullable=True),
        sa.Column("employment_status", sa.String(), nullable=True),
        sa.Column("employment_tenure_months", sa.Integer(), nullable=True),
        sa.Column("website_sessions", sa.Integer(), nullable=True),
        sa.Column("page_views", sa.Integer(), nullable=True),
        sa.Column("calculator_uses", sa.Integer(), nullable=True),
        sa.Column("email_opens", sa.Integer(), nullable=True),
        sa.Column("email_clicks", sa.Integer(), nullable=True),
        sa.Column("tcpa_consent", sa.Boolean(), nullable=True),
        sa.Column("consent_timestamp", _when(), nullable=True),
        sa.Column("consent_method", sa.String(), nullable=True),
        sa.Column("consent_ip", sa.String(), nullable=True),
        sa.Column("consent_text", sa.String(), nullable=True),
        sa.Column("consent_certificate", sa.String(), nullable=True),
        sa.Column("do_not_call", sa.Boolean(), nullable=True),
        sa.Column("email_opt_out", sa.Boolean(), nullable=True),
        sa.Column("converted", sa.Boolean(), nullable=True),
        sa.Column("converted_at", _when(), nullable=True),
        sa.Column("conversion_value", sa.Float(), nullable=True),
        sa.Column("lead_cost", sa.Float(), nullable=True),
        sa.Column("raw", _json(), nullable=True),
        sa.Column("input_hash", sa.String(), nullable=True),
        sa.Column("validation_problems", _json(), nullable=False),
        sa.Column("anonymised", sa.Boolean(), nullable=False),
        sa.Column("anonymised_at", _when(), nullable=True),
        sa.Column("first_seen_at", _when(), nullable=False),
        sa.Column("last_seen_at", _when(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_leads")),
        sa.UniqueConstraint("connector", "crm_id", name=op.f("uq_leads_connector_crm_id")),
    )
    op.create_index("ix_leads_created_at", "leads", ["created_at"])
    op.create_index("ix_leads_email", "leads", ["email"])
    op.create_index("ix_leads_lead_id", "leads", ["lead_id"])
    op.create_index("ix_leads_phone", "leads", ["phone"])

    op.create_table(
        "leases",
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("holder", sa.String(), nullable=False),
        sa.Column("acquired_at", _when(), nullable=False),
        sa.Column("expires_at", _when(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_leases")),
    )
    op.create_table(
        "model_versions",
        sa.Column("id", _id(), nullable=False),
        sa.Column("version", sa.String(), nullable=False),
        sa.Column("sha256", sa.String(), nullable=False),
        sa.Column("path", sa.String(), nullable=False),
        sa.Column("metrics", _json(), nullable=False),
        sa.Column("info", _json(), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("created_at", _when(), nullable=False),
        sa.Column("promoted_at", _when(), nullable=True),
        sa.Column("retired_at", _when(), nullable=True),
        sa.CheckConstraint("status IN ('champion', 'challenger', 'rejected', 'retired')",
                           name=op.f("ck_model_versions_status_valid")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_model_versions")),
        sa.UniqueConstraint("version", name=op.f("uq_model_versions_version")),
    )
    op.create_index("uq_model_versions_one_champion", "model_versions", ["status"], unique=True,
                    sqlite_where=sa.text("status = 'champion'"), postgresql_where=sa.text("status = 'champion'"))

    op.create_table(
        "sync_state",
        sa.Column("connector", sa.String(), nullable=False),
        sa.Column("stream", sa.String(), nullable=False),
        sa.Column("watermark", _when(), nullable=True),
        sa.Column("cursor", sa.String(), nullable=True),
        sa.Column("last_success_at", _when(), nullable=True),
        sa.Column("last_error", sa.String(), nullable=True),
        sa.Column("last_error_at", _when(), nullable=True),
        sa.Column("updated_at", _when(), nullable=False),
        sa.PrimaryKeyConstraint("connector", "stream", name=op.f("pk_sync_state")),
    )
    op.create_table(
        "assignments",
        sa.Column("id", _id(), nullable=False),
        sa.Column("lead_pk", _id(), nullable=False),
        sa.Column("agent_id", sa.String(), nullable=False),
        sa.Column("match_score", sa.Float(), nullable=False),
        sa.Column("components", _json(), nullable=False),
        sa.Column("alternatives", _json(), nullable=False),
        sa.Column("reason", sa.String(), nullable=False),
        sa.Column("state", sa.String(), nullable=False),
        sa.Column("external_id", sa.String(), nullable=False),
        sa.Column("assigned_at", _when(), nullable=False),
        sa.Column("updated_at", _when(), nullable=False),
        sa.CheckConstraint("state IN ('pending', 'written', 'failed', 'released')",
                           name=op.f("ck_assignments_state_valid")),
        sa.ForeignKeyConstraint(["agent_id"], ["agents.agent_id"], name=op.f("fk_assignments_agent_id_agents")),
        _lead_fk("assignments", "CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_assignments")),
        sa.UniqueConstraint("external_id", name=op.f("uq_assignments_external_id")),
    )
    op.create_index("ix_assignments_agent_id_state", "assignments", ["agent_id", "state"])
    op.create_index("ix_assignments_lead_pk", "assignments", ["lead_pk"])
    op.create_index("uq_assignments_active_lead", "assignments", ["lead_pk"], unique=True,
                    sqlite_where=sa.text("state IN ('pending', 'written')"),
                    postgresql_where=sa.text("state IN ('pending', 'written')"))

    op.create_table(
        "audit_events",
        sa.Column("id", _id(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("lead_pk", _id(), nullable=True),
        sa.Column("payload", _json(), nullable=False),
        sa.Column("input_hash", sa.String(), nullable=True),
        sa.Column("rule_set_version", sa.String(), nullable=True),
        sa.Column("created_at", _when(), nullable=False),
        _lead_fk("audit_events", "SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_events")),
    )
    op.create_index("ix_audit_events_kind_created_at", "audit_events", ["kind", "created_at"])
    op.create_index("ix_audit_events_lead_pk_created_at", "audit_events", ["lead_pk", "created_at"])

    op.create_table(
        "outbox",
        sa.Column("id", _id(), nullable=False),
        sa.Column("connector", sa.String(), nullable=False),
        sa.Column("key", sa.String(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("lead_pk", _id(), nullable=False),
        sa.Column("payload", _json(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", _when(), nullable=False),
        sa.Column("last_error", sa.String(), nullable=True),
        sa.Column("created_at", _when(), nullable=False),
        sa.Column("done_at", _when(), nullable=True),
        sa.Column("gave_up_at", _when(), nullable=True),
        _lead_fk("outbox", "CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox")),
        sa.UniqueConstraint("connector", "key", name=op.f("uq_outbox_connector_key")),
    )
    op.create_index("ix_outbox_lead_pk", "outbox", ["lead_pk"])
    op.create_index("ix_outbox_pending", "outbox", ["connector", "next_attempt_at"],
                    sqlite_where=sa.text("done_at IS NULL AND gave_up_at IS NULL"),
                    postgresql_where=sa.text("done_at IS NULL AND gave_up_at IS NULL"))

    op.create_table(
        "outcomes",
        sa.Column("id", _id(), nullable=False),
        sa.Column("lead_pk", _id(), nullable=False),
        sa.Column("agent_id", sa.String(), nullable=True),
        sa.Column("converted", sa.Boolean(), nullable=False),
        sa.Column("converted_at", _when(), nullable=True),
        sa.Column("conversion_value", sa.Float(), nullable=True),
        sa.Column("lead_cost", sa.Float(), nullable=True),
        sa.Column("source", sa.String(), nullable=False),
        sa.Column("observed_at", _when(), nullable=False),
        _lead_fk("outcomes", "CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outcomes")),
        sa.UniqueConstraint("lead_pk", name=op.f("uq_outcomes_lead_pk")),
    )
    op.create_index("ix_outcomes_agent_id", "outcomes", ["agent_id"])

    op.create_table(
        "queue",
        sa.Column("id", _id(), nullable=False),
        sa.Column("lead_pk", _id(), nullable=False),
        sa.Column("score", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("state", sa.String(), nullable=False),
        sa.Column("reason", sa.String(), nullable=True),
        sa.Column("enqueued_at", _when(), nullable=False),
        sa.Column("updated_at", _when(), nullable=False),
        sa.CheckConstraint("kind IN ('priority', 'queue', 'nurture', 'manager')", name=op.f("ck_queue_kind_valid")),
        sa.CheckConstraint("state IN ('waiting', 'assigned', 'expired', 'removed')",
                           name=op.f("ck_queue_state_valid")),
        _lead_fk("queue", "CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_queue")),
    )
    op.create_index("ix_queue_lead_pk", "queue", ["lead_pk"])
    op.create_index("ix_queue_order", "queue", ["state", "kind", sa.text("score DESC"), "enqueued_at"])
    op.create_index("uq_queue_waiting_lead", "queue", ["lead_pk"], unique=True,
                    sqlite_where=sa.text("state = 'waiting'"), postgresql_where=sa.text("state = 'waiting'"))

    op.create_table(
        "scores",
        sa.Column("id", _id(), nullable=False),
        sa.Column("lead_pk", _id(), nullable=False),
        sa.Column("model_version", sa.String(), nullable=False),
        sa.Column("probability", sa.Float(), nullable=False),
        sa.Column("score", sa.Integer(), nullable=False),
        sa.Column("confidence", sa.Float(), nullable=False),
        sa.Column("reasons", _json(), nullable=False),
        sa.Column("input_hash", sa.String(), nullable=False),
        sa.Column("variant", sa.String(), nullable=True),
        sa.Column("scored_at", _when(), nullable=False),
        sa.CheckConstraint("confidence >= 0 AND confidence <= 1", name=op.f("ck_scores_confidence_range")),
        sa.CheckConstraint("probability >= 0 AND probability <= 1", name=op.f("ck_scores_probability_range")),
        sa.CheckConstraint("score >= 0 AND score <= 100", name=op.f("ck_scores_score_range")),
        _lead_fk("scores", "CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_scores")),
    )
    op.create_index("ix_scores_lead_pk_scored_at", "scores", ["lead_pk", "scored_at"])
    op.create_index("ix_scores_model_version", "scores", ["model_version"])


def downgrade() -> None:
    """Drop every table (all data is lost; take a backup first)."""
    for table in ("scores", "queue", "outcomes", "outbox", "audit_events", "assignments", "sync_state",
                  "model_versions", "leases", "leads", "kpi_snapshots", "job_runs", "agents"):
        op.drop_table(table)
