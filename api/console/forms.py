"""The console's forms. Every one is a Flask-WTF form, so each carries and checks a CSRF token."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, HiddenField, PasswordField, StringField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from klaviyo_analytics.actions.approvals import MAX_REASON


class SignInForm(FlaskForm):
    """A token, or a user name and password: either one (the view says which are offered)."""

    token = PasswordField("Token", validators=[Optional(), Length(max=512)])
    username = StringField("User name", validators=[Optional(), Length(max=64)])
    password = PasswordField("Password", validators=[Optional(), Length(max=1024)])
    submit = SubmitField("Sign in")


class DecisionForm(FlaskForm):
    reason = TextAreaField(
        "Reason (kept in the audit trail)",
        validators=[
            DataRequired(message="Say why: the reason is kept with the decision."),
            Length(max=MAX_REASON, message=f"At most {MAX_REASON} characters."),
        ],
    )
    # The hash of the plan this page displayed: the approval binds it (approvals.decide).
    plan_hash = HiddenField(validators=[Optional(), Length(min=64, max=64)])
    # Shown only for a plan with a BLOCKING warning (flow_guard): approving it needs this ticked.
    acknowledge = BooleanField("I understand that live flows will send their messages to the profiles this adds")
    approve = SubmitField("Approve")
    reject = SubmitField("Reject")


class ResolveForm(FlaskForm):
    """A person's answer for a step stopped in needs_attention (``approvals.resolve``)."""

    object_id = StringField("Id of the object the step made (for adopt)", validators=[Optional(), Length(max=64)])
    note = TextAreaField(
        "What you checked in Klaviyo (kept in the audit trail)",
        validators=[
            DataRequired(message="Say what you checked: the note is kept with the resolution."),
            Length(max=MAX_REASON, message=f"At most {MAX_REASON} characters."),
        ],
    )
    adopt = SubmitField("It made this object: adopt it")
    none = SubmitField("It made nothing: send it again")
    abandon = SubmitField("Abandon the action")


class SignOutForm(FlaskForm):
    submit = SubmitField("Sign out")
