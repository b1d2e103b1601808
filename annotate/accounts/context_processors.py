from annotate.accounts import roles


def roles_context(request):
    user = request.user
    return {
        "is_reviewer": roles.has_role(user, roles.REVIEWER),
        "is_lead": roles.has_role(user, roles.LEAD),
        "is_officer": roles.has_role(user, roles.OFFICER),
        "is_admin": roles.has_role(user, roles.ADMIN),
    }
