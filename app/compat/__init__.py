"""The seed's old names and layouts, in one home: what existing callers and stored data still rely on.

``legacy``: the seed's mount points and its access-point ARN in ``S3_BUCKET_NAME`` (read by the settings and
the references); ``s3``: the seed's ``open_notebook/storage/s3.py`` functions, as faces over today's stores.
"""
