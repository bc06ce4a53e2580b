"""Referral milestones: the reward email a reader gets when their counted referrals reach a
number an editor set (accounts.referrals does the counting)."""

from __future__ import annotations

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from accounts.models import User
from accounts.referrals import referral_count
from newsletter.models import ReferralMilestone, ReferralReward
from newsletter.rendering import (
    MANAGE_PLACEHOLDER,
    REFERRAL_PLACEHOLDER,
    UNSUBSCRIBE_PLACEHOLDER,
    personalise,
    render_email,
)


def send_referral_rewards(*, user_id: int) -> int:
    """Send the reward email of every milestone the reader has reached and not been rewarded
    for; return how many went out.

    Once per reader and milestone, whatever runs at the same time or again: the reward row is
    unique, and its email is sent under the row's lock, with sent_at set in the same
    transaction. A mail server that fails rolls that back, so a retry sends it then. Rewards
    already sent stay sent when an editor revokes referrals later.
    """
    user = User.objects.filter(pk=user_id, is_active=True).first()
    if user is None:
        return 0
    reached = ReferralMilestone.objects.filter(is_active=True, count__lte=referral_count(user))
    ReferralReward.objects.bulk_create(
        [ReferralReward(milestone=milestone, user=user) for milestone in reached],
        ignore_conflicts=True,
    )
    pending = ReferralReward.objects.filter(
        user=user, milestone__in=reached, sent_at__isnull=True
    ).values_list("pk", flat=True)
    sent = 0
    for reward_id in list(pending):
        with transaction.atomic():
            reward = (
                ReferralReward.objects.select_for_update()
                .select_related("milestone")
                .filter(pk=reward_id, sent_at__isnull=True)
                .first()
            )
            if reward is None:
                continue  # another worker sent it while this one waited for the lock
            _reward_message(reward, user=user).send()
            reward.sent_at = timezone.now()
            reward.save(update_fields=["sent_at"])
            sent += 1
    return sent


def _reward_message(reward: ReferralReward, *, user: User):
    milestone = reward.milestone
    context = {
        "site_url": settings.SITE_URL,
        "user": user,
        "milestone": milestone,
        "subject": milestone.subject,
        "body": milestone.body,
        "unsubscribe_url": UNSUBSCRIBE_PLACEHOLDER,
        "manage_url": MANAGE_PLACEHOLDER,
        "referral_url": REFERRAL_PLACEHOLDER,
    }
    return personalise(render_email("referral_reward", context), user=user)
