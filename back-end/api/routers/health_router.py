from fastapi import APIRouter

router = APIRouter(tags=["health"])


@router.get("/health")
def read_health() -> dict[str, str]:
    """Liveness: 200 once the API serves."""
    return {"status": "ok"}
