//! s3s-fs with S3's view of folders: it keeps a bucket as a folder tree, and would otherwise
//! leave a key's emptied folders behind, where S3 has no folder once its last object is gone
//! (a later HEAD or DELETE of that name would then fail instead of finding nothing).

use std::path::{Path, PathBuf};

use s3s::dto::*;
use s3s::{S3, S3Request, S3Response, S3Result};
use s3s_fs::FileSystem;

/// s3s-fs, with the folders a deletion empties removed.
pub(super) struct PrunedFileSystem {
    pub(super) inner: FileSystem,
    pub(super) root: PathBuf,
}

impl PrunedFileSystem {
    /// Removes the empty folders that held `key` in `bucket`, deepest first.
    async fn prune(&self, bucket: &str, key: &str) {
        let bucket_root = self.root.join(bucket);
        let mut folder = bucket_root.join(key);
        while let Some(parent) = folder.parent().map(Path::to_path_buf) {
            if !parent.starts_with(&bucket_root) || parent == bucket_root {
                break;
            }
            // Fails on a folder that still holds something: that ends the walk.
            if tokio::fs::remove_dir(&parent).await.is_err() {
                break;
            }
            folder = parent;
        }
    }
}

/// The `S3` implementation: every operation s3s-fs serves passed through, but the deletions
/// given. (One macro for the whole impl: `async_trait` must see every method.)
macro_rules! s3_passing_through {
    ($($operation:ident($input:ty) -> $output:ty;)* { $($own:item)* }) => {
        #[async_trait::async_trait]
        impl S3 for PrunedFileSystem {
            $(
                async fn $operation(
                    &self,
                    req: S3Request<$input>,
                ) -> S3Result<S3Response<$output>> {
                    self.inner.$operation(req).await
                }
            )*
            $($own)*
        }
    };
}

s3_passing_through! {
        create_bucket(CreateBucketInput) -> CreateBucketOutput;
        copy_object(CopyObjectInput) -> CopyObjectOutput;
        delete_bucket(DeleteBucketInput) -> DeleteBucketOutput;
        get_bucket_location(GetBucketLocationInput) -> GetBucketLocationOutput;
        get_object(GetObjectInput) -> GetObjectOutput;
        head_bucket(HeadBucketInput) -> HeadBucketOutput;
        head_object(HeadObjectInput) -> HeadObjectOutput;
        list_buckets(ListBucketsInput) -> ListBucketsOutput;
        list_objects(ListObjectsInput) -> ListObjectsOutput;
        list_objects_v2(ListObjectsV2Input) -> ListObjectsV2Output;
        put_object(PutObjectInput) -> PutObjectOutput;
        create_multipart_upload(CreateMultipartUploadInput) -> CreateMultipartUploadOutput;
        upload_part(UploadPartInput) -> UploadPartOutput;
        upload_part_copy(UploadPartCopyInput) -> UploadPartCopyOutput;
        list_parts(ListPartsInput) -> ListPartsOutput;
        complete_multipart_upload(CompleteMultipartUploadInput) -> CompleteMultipartUploadOutput;
        abort_multipart_upload(AbortMultipartUploadInput) -> AbortMultipartUploadOutput;
    {

    async fn delete_object(
        &self,
        req: S3Request<DeleteObjectInput>,
    ) -> S3Result<S3Response<DeleteObjectOutput>> {
        let (bucket, key) = (req.input.bucket.clone(), req.input.key.clone());
        let answer = self.inner.delete_object(req).await?;
        self.prune(&bucket, &key).await;
        Ok(answer)
    }

    async fn delete_objects(
        &self,
        req: S3Request<DeleteObjectsInput>,
    ) -> S3Result<S3Response<DeleteObjectsOutput>> {
        let bucket = req.input.bucket.clone();
        let keys: Vec<String> = req
            .input
            .delete
            .objects
            .iter()
            .map(|object| object.key.clone())
            .collect();
        let answer = self.inner.delete_objects(req).await?;
        for key in keys {
            self.prune(&bucket, &key).await;
        }
        Ok(answer)
    }
}
}
