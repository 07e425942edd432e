"""The endpoints Amazon calls (contract §0.3). Each operation is one APIView."""

urlpatterns: list = []
