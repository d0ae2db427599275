field-addressees-unknown_role = Chọn nơi nhận báo cáo hoặc cơ quan chủ trì chương trình.
field-addressees-taken = Đã có một mục cho vai trò này từ ngày đó.
error-addressee_taken = Đã có một mục cho vai trò này từ ngày đó.
field-addressees-one_line = Viết tên trên một dòng, không có dấu tab hay xuống dòng.
