field-areas-invalid_code = Dùng 1 đến 20 chữ cái, chữ số, ".", "-" hoặc "_" (mã hành chính, ví dụ 16681).
field-areas-duplicate_code = Đã có địa bàn mang mã này.
field-areas-unknown_kind = Chọn loại: tỉnh (province), thành phố (city), thị xã (town), huyện (district), xã (commune) hoặc phường (ward).
field-areas-unknown_parent = Không có địa bàn nào mang mã này.
field-areas-unknown_predecessor = Mỗi đơn vị tiền thân phải là một địa bàn khác đã có.
field-areas-cycle = Một địa bàn không thể nằm trong chính nó hoặc trong đơn vị trực thuộc của nó.
field-areas-ends_before_start = Ngày cuối trước ngày đầu.
