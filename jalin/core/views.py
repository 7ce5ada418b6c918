from django.db import connection
from django.http import JsonResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from jalin.tenancy.decorators import org_required


@org_required()
def dashboard(request):
    return render(request, "core/dashboard.html", {"role": request.membership.role})


@require_GET
def health(request):
    """Liveness for load balancers: the process answers and the database does too."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok"})
