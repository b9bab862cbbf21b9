mod trt;
