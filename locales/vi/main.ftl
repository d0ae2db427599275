# Thông báo lỗi của API
error-unauthenticated = Bạn cần đăng nhập.
error-forbidden = Bạn không có quyền thực hiện thao tác này.
error-not_found = Không tìm thấy.
error-conflict = Hồ sơ đã được người khác thay đổi. Hãy tải lại và thực hiện lại thay đổi của bạn.
error-validation = Một số trường chưa hợp lệ.
error-bad_request = Yêu cầu không hợp lệ.
error-unsupported_media_type = Nội dung phải ở dạng JSON.
error-payload_too_large = Nội dung gửi lên quá lớn.
error-internal = Đã xảy ra lỗi hệ thống. Sự cố đã được ghi lại.
error-unavailable = Dịch vụ tạm thời chưa sẵn sàng.
error-csrf = Thiếu hoặc sai mã chống giả mạo yêu cầu (CSRF).
error-invalid_credentials = Tên đăng nhập hoặc mật khẩu không đúng.
error-too_many_attempts = Quá nhiều lần thử. Hãy thử lại sau.
# Lỗi từng trường
field-required = Bắt buộc nhập.
field-too_long = Quá dài.
field-too_short = Quá ngắn.
field-invalid_date = Ngày không hợp lệ (định dạng YYYY-MM-DD).
field-future_date = Ngày không được ở tương lai.
field-unknown_area = Địa bàn không tồn tại.
field-invalid_phone = Số điện thoại không hợp lệ.
field-invalid = Giá trị không hợp lệ.
