from ninja import NinjaAPI

api = NinjaAPI(title="Jalin API", version="1", urls_namespace="api")
