"""coded fields hold the terms of redif.model; next systemic therapy; progression criterion; review flags

Every coded column of the registry (the CODED fields of :mod:`redif.model`) held free text until now
(``"rhTSH"``, ``"Hurthle"``, ``"PET/CT"``, a sentence for the definition of restored uptake). This revision
converts each stored value to its code with :meth:`redif.model.Vocabulary.parse` (code, label or alias of
a term, ignoring case: the model's one table of old spellings), e.g. ``"rhTSH"`` -> ``rhtsh``,
``"Hürthle"`` -> ``oncocytic``, ``"follicular variant of papillary"`` -> ``papillary``.

A value that matches no term is **never dropped**: it is written word for word to the new table
``review_flags`` (patient, table, row id, column, verbatim text, reason) and the column is set to
``NULL`` -- or, for a required column (``genotypes.gene``), to ``other`` when the vocabulary has it, else
left as it was -- until a reviewer picks the code. Row counts do not change.

Schema: ``patients.progression_criterion`` (coded), table ``next_therapies`` (the "next-therapy" form),
table ``review_flags``, and ``response_assessments.overall_response`` widened to 16 characters (the code
``NON_CR_NON_PD``).

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

from redif.errors import InputError
from redif.model import vocabulary

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

#: (table, column, vocabulary, required) of every coded column that existed at revision 0004.
CODED: tuple[tuple[str, str, str, bool], ...] = (
    ("patients", "sex", "sex", True),
    ("patients", "histology", "histology", False),
    ("patients", "rai_refractory_criterion", "rai_refractory_criterion", False),
    ("genotypes", "gene", "gene", True),
    ("redif_courses", "tsh_stimulation", "tsh_stimulation", False),
    ("uptake_assessments", "modality", "uptake_modality", False),
    ("uptake_assessments", "tracer", "tracer", False),
    ("uptake_assessments", "restored_definition", "uptake_definition", False),
    ("dosimetry_results", "kind", "dosimetry_kind", True),
    ("dosimetry_results", "method", "dosimetry_method", False),
    ("iodine_administrations", "basis", "activity_basis", False),
    ("response_assessments", "overall_response", "overall_response", False),
    ("lab_results", "analyte", "analyte", True),
    ("adverse_events", "attribution", "ae_attribution", False),
)

REASON = "no term of vocabulary {name!r} matches this text (migration 0005); choose a code"


def _create_tables() -> None:
    op.create_table(
        "next_therapies",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("drugs", sa.String(length=200), nullable=False),
        sa.Column("therapy_class", sa.String(length=32), nullable=True),
        sa.Column("start_date", sa.Date(), nullable=True),
        sa.ForeignKeyConstraint(["patient_id"], ["patients.id"], name=op.f("fk_next_therapies_patient_id_patients"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_next_therapies")),
    )
    op.create_index(op.f("ix_next_therapies_patient_id"), "next_therapies", ["patient_id"], unique=False)
    op.create_table(
        "review_flags",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("table_name", sa.String(length=64), nullable=False),
        sa.Column("row_id", sa.Integer(), nullable=False),
        sa.Column("column_name", sa.String(length=64), nullable=False),
        sa.Column("verbatim", sa.Text(), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["patient_id"], ["patients.id"], name=op.f("fk_review_flags_patient_id_patients"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_review_flags")),
    )
    op.create_index(op.f("ix_review_flags_patient_id"), "review_flags", ["patient_id"], unique=False)


def _convert(conn: sa.Connection, flags: sa.TableClause) -> None:
    now = datetime.now(UTC).replace(tzinfo=None)
    for table_name, column, vocab_name, required in CODED:
        vocab = vocabulary(vocab_name)
        patient_col = "id" if table_name == "patients" else "patient_id"
        tbl = sa.table(table_name, sa.column("id", sa.Integer), sa.column(patient_col, sa.Integer),
                       sa.column(column, sa.String))
        rows = conn.execute(
            sa.select(tbl.c.id, tbl.c[patient_col], tbl.c[column]).where(tbl.c[column].is_not(None))
        ).all()
        for row_id, patient_id, value in rows:
            try:
                code: str | None = vocab.parse(str(value)).code
            except InputError:
                conn.execute(sa.insert(flags).values(
                    patient_id=patient_id, table_name=table_name, row_id=row_id, column_name=column,
                    verbatim=str(value), reason=REASON.format(name=vocab.name), created_at=now))
                if not required:
                    code = None
                elif "other" in vocab.codes():
                    code = "other"
                else:
                    continue  # required, no "other": the text stays in the column and in the flag
            if code != value:
                conn.execute(sa.update(tbl).where(tbl.c.id == row_id).values({column: code}))


def upgrade() -> None:
    _create_tables()
    with op.batch_alter_table("patients", schema=None) as batch_op:
        batch_op.add_column(sa.Column("progression_criterion", sa.String(length=32), nullable=True))
    with op.batch_alter_table("response_assessments", schema=None) as batch_op:
        batch_op.alter_column("overall_response", existing_type=sa.String(length=8),
                              type_=sa.String(length=16), existing_nullable=True)
    flags = sa.table(
        "review_flags", sa.column("patient_id", sa.Integer), sa.column("table_name", sa.String),
        sa.column("row_id", sa.Integer), sa.column("column_name", sa.String), sa.column("verbatim", sa.Text),
        sa.column("reason", sa.String), sa.column("created_at", sa.DateTime),
    )
    _convert(op.get_bind(), flags)


def downgrade() -> None:
    conn = op.get_bind()
    long = conn.execute(sa.text(
        "select count(*) from response_assessments where length(overall_response) > 8")).scalar_one()
    if long:
        raise RuntimeError(
            f"{long} response assessments hold a code longer than 8 characters (NON_CR_NON_PD); "
            "change them before downgrading below revision 0005"
        )
    with op.batch_alter_table("response_assessments", schema=None) as batch_op:
        batch_op.alter_column("overall_response", existing_type=sa.String(length=16),
                              type_=sa.String(length=8), existing_nullable=True)
    with op.batch_alter_table("patients", schema=None) as batch_op:
        batch_op.drop_column("progression_criterion")
    op.drop_index(op.f("ix_review_flags_patient_id"), table_name="review_flags")
    op.drop_table("review_flags")
    op.drop_index(op.f("ix_next_therapies_patient_id"), table_name="next_therapies")
    op.drop_table("next_therapies")
