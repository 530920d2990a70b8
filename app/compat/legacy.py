"""What the seed's environments wrote and set that today's names replace: read here, nowhere else."""

from __future__ import annotations

import re

# Mount points of older deployments: absolute references under them are re-rooted under DATA_FOLDER.
LEGACY_ROOTS = ("/mydata", "/app/data", "/data", "./data")

ACCESS_POINT_ARN = re.compile(
    r"^arn:(?P<partition>aws[\w-]*):s3:(?P<region>[\w-]+):(?P<account>\d{12}):accesspoint/(?P<name>[a-z0-9-]{3,50})$"
)


def access_point_in_bucket_name(given: dict[str, str]) -> dict[str, str]:
    """The seed accepted an access-point ARN in S3_BUCKET_NAME: treat it as the access point."""
    bucket = given.get("S3_BUCKET_NAME", "")
    if not ACCESS_POINT_ARN.match(bucket):
        return given
    return {"S3_ACCESS_POINT": bucket} | {name: text for name, text in given.items() if name != "S3_BUCKET_NAME"}
