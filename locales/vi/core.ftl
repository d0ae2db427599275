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
field-unknown = Trường không được hỗ trợ.
field-password_too_short = Mật khẩu phải có ít nhất 12 ký tự.
field-invalid_username = Tên đăng nhập gồm 3–64 ký tự: chữ thường, số, dấu chấm, gạch dưới, gạch ngang.
field-username_taken = Tên đăng nhập đã được dùng.
error-totp_required = Cần mã xác thực hai bước.
error-mfa_enrolment_required = Bạn cần đăng ký xác thực hai bước trước khi tiếp tục.

# Audit checkpoints and the full verification (the auditor's page, the API)
field-audit-checkpoint_invalid = Đây không phải là điểm kiểm tra nhật ký của hoanhap. Hãy dán toàn bộ tệp.
field-audit-checkpoint_other_key = Điểm kiểm tra này được ký bằng một khóa chính khác.
field-audit-checkpoint_signature = Chữ ký của điểm kiểm tra không khớp: nó đã bị sửa hoặc không do hệ thống này cấp.
error-audit_chain_broken = Chuỗi nhật ký không hợp lệ; không cấp điểm kiểm tra cho nó.
audit-verify-releases-ok = Mọi bản công bố thống kê đều trỏ tới một mục của chuỗi. Số bản công bố đã kiểm tra:
audit-verify-releases-bad = Các bản công bố thống kê này trỏ tới đầu chuỗi nhật ký không còn trong nhật ký: đã có mục bị xóa.
audit-verify-checkpoint-ok = Nhật ký vẫn chứa điểm kiểm tra
audit-verify-checkpoint-missing = Đã có mục bị xóa hoặc thay thế! Nhật ký không còn chứa điểm kiểm tra
audit-checkpoint-title = Điểm kiểm tra
audit-checkpoint-help = Điểm kiểm tra là bản ghi có chữ ký của mục mới nhất. Hãy lưu nó ngoài máy chủ (trên máy tính của bạn hoặc trên giấy); kiểm tra lại sau này sẽ cho biết có mục nào bị xóa hay không.
audit-checkpoint-button = Tải về điểm kiểm tra
audit-checkpoint-paste = Điểm kiểm tra cần đối chiếu
audit-checkpoint-paste-hint = Dán toàn bộ nội dung tệp điểm kiểm tra bạn đã lưu.
audit-checkpoint-verify-button = Đối chiếu điểm kiểm tra
