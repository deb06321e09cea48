export const PRODUCT_NAME = "Question Batches";
