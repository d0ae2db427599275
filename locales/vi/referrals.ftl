# Chuyển gửi, nhà cung cấp dịch vụ và nhóm dịch vụ
error-consent_missing = Thân chủ chưa đồng ý chia sẻ thông tin để chuyển gửi trong nhóm dịch vụ này. Hãy ghi nhận sự đồng ý trước, hoặc giám sát viên có thể bỏ qua kèm lý do bằng văn bản.
error-invalid_transition = { $allowed_count ->
    [0] Chuyển gửi này đã kết thúc ({ $from }); không thể đổi trạng thái nữa.
   *[other] Chuyển gửi đang ở trạng thái { $from } không thể chuyển sang { $to }. Các trạng thái tiếp theo được phép: { $allowed }.
}
error-client_closed = Hồ sơ đã đóng. Hãy mở lại hồ sơ trước khi chuyển gửi.
field-referrals-unknown_category = Không có nhóm dịch vụ này (hoặc nhóm không còn dùng).
field-referrals-invalid_category_code = Dùng 2–40 chữ thường không dấu, chữ số hoặc dấu gạch dưới, bắt đầu bằng chữ.
field-referrals-before_opened_on = Ngày không được trước ngày mở hồ sơ.
field-referrals-before_previous_event = Ngày không được trước bước trước đó của chuyển gửi.
field-referrals-unknown_provider = Không có nhà cung cấp dịch vụ này.
field-referrals-inactive_provider = Nhà cung cấp dịch vụ này không còn hoạt động.
field-referrals-provider_category_mismatch = Nhà cung cấp này không cung cấp dịch vụ thuộc nhóm này.
field-referrals-unknown_need = Thân chủ không có nhu cầu này.
field-referrals-need_category_mismatch = Nhu cầu này thuộc nhóm dịch vụ khác.
field-referrals-reason_too_short = Hãy ghi lý do dài ít nhất 10 ký tự.
field-referrals-share_detail_needs_consent = Chỉ được in chi tiết lên phiếu chuyển gửi khi thân chủ đồng ý chia sẻ.
field-referrals-unknown_status = Không phải trạng thái chuyển gửi: dùng accepted, declined, cancelled, in_service, completed hoặc dropped_out.
referral-status-referred = Đã chuyển gửi
referral-status-accepted = Đã tiếp nhận
referral-status-declined = Bị từ chối
referral-status-cancelled = Đã hủy
referral-status-in_service = Đang sử dụng dịch vụ
referral-status-completed = Hoàn thành
referral-status-dropped_out = Bỏ giữa chừng
